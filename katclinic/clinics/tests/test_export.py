"""A clinic's full export: every table with a clinic key, documented, and nothing of another."""

from __future__ import annotations

import io
import json
import zipfile
from unittest.mock import patch

from django.apps import apps

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics import export
from katclinic.clinics.models import Clinic
from katclinic.testing import ClinicTestCase


def models_with_a_clinic() -> set[str]:
    """Enumerated here independently of the export: any field that points at a clinic."""
    found = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            points_at_clinic = field.is_relation and field.related_model is Clinic
            if points_at_clinic or field.attname == "clinic_id":
                found.add(model._meta.label_lower)
    return found


class ExportTest(ClinicTestCase):
    def download(self) -> zipfile.ZipFile:
        self.login(self.adam)
        response = self.client.post("/clinic/export/download/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/zip")
        self.assertIn("attachment", response["Content-Disposition"])
        return zipfile.ZipFile(io.BytesIO(response.content))

    def rows(self, archive: zipfile.ZipFile, name: str) -> list[dict[str, object]]:
        text = archive.read(name).decode()
        return [json.loads(line) for line in text.splitlines() if line]

    def test_every_table_with_a_clinic_is_in_the_export_and_documented(self) -> None:
        archive = self.download()
        names = set(archive.namelist())
        schema = json.loads(archive.read("schema.json"))
        documented = {t["table"] for t in schema["tables"]}
        expected = models_with_a_clinic()
        self.assertGreater(len(expected), 40)
        for table in expected:
            self.assertIn(f"tables/{table}.jsonl", names)
            self.assertIn(table, documented)
        self.assertIn("tables/clinics.clinic.jsonl", names)
        self.assertIn("people.jsonl", names)
        readme = archive.read("README.txt").decode()
        patients = next(t for t in schema["tables"] if t["table"] == "patients.patient")
        self.assertTrue(patients["description"])
        columns = {c["name"]: c for c in patients["columns"]}
        self.assertEqual(columns["clinic_id"]["refers_to"], "clinics.clinic")
        self.assertIn("type", columns["first_name"])
        self.assertIn("tables/patients.patient.jsonl", readme)
        clinic_row = next(t for t in schema["tables"] if t["table"] == "clinics.clinic")
        npi = next(c for c in clinic_row["columns"] if c["name"] == "npi")
        self.assertEqual(npi["description"], "Type 2 (organization) NPI.")

    def test_stored_documents_travel_with_their_rows(self) -> None:
        from katclinic.insurance.tests.access_spec import _document

        _document(self)
        archive = self.download()
        (row,) = self.rows(archive, "tables/insurance.authorizationdocument.jsonl")
        attached = f"attachments/insurance.authorizationdocument/file/{row['file']}"
        self.assertEqual(archive.read(attached), b"%PDF-1.4\n")

    def test_only_this_clinics_rows_are_exported(self) -> None:
        archive = self.download()
        patients = self.rows(archive, "tables/patients.patient.jsonl")
        self.assertEqual({p["id"] for p in patients}, {self.pat.pk, self.quinn.pk})
        for name in archive.namelist():
            if name.startswith("tables/") and name != "tables/clinics.clinic.jsonl":
                for row in self.rows(archive, name):
                    self.assertEqual(row["clinic_id"], self.clinic.pk, name)
        clinics = self.rows(archive, "tables/clinics.clinic.jsonl")
        self.assertEqual([c["id"] for c in clinics], [self.clinic.pk])
        people = {p["email"] for p in self.rows(archive, "people.jsonl")}
        self.assertIn("pat@example.org", people)
        self.assertIn("adam@example.org", people)
        self.assertNotIn("oscar@example.org", people)
        self.assertNotIn(
            self.stranger.last_name.encode(), b"".join(archive.read(n) for n in archive.namelist())
        )

    def test_link_hashes_and_passwords_are_withheld(self) -> None:
        self.login(self.adam)
        self.client.post("/clinic/staff/invite/", {"email": "new@example.org", "role": "nurse"})
        archive = self.download()
        invitations = self.rows(archive, "tables/clinics.invitation.jsonl")
        self.assertEqual(len(invitations), 1)
        self.assertNotIn("token_hash", invitations[0])
        for person in self.rows(archive, "people.jsonl"):
            self.assertNotIn("password", person)

    def test_the_export_is_audited_as_one_export_event(self) -> None:
        self.download()
        events = AuditEvent.objects.filter(action=Action.EXPORT, clinic_id=self.clinic.pk)
        self.assertEqual(events.count(), 1)
        self.assertEqual(events.get().user, self.adam)
        self.assertEqual(events.get().detail["tables"]["patients.patient"], 2)

    def test_only_admins_export(self) -> None:
        for user in (self.paula, self.nick, self.alice, self.tara, self.oscar):
            self.login(user)
            self.assertEqual(self.client.post("/clinic/export/download/").status_code, 403)
            self.assertEqual(self.client.get("/clinic/export/").status_code, 403)
        self.login(self.pat_user)
        self.assertEqual(self.client.post("/clinic/export/download/").status_code, 403)
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())
        self.client.logout()
        self.assertEqual(self.client.post("/clinic/export/download/").status_code, 302)

    def test_a_large_export_is_streamed_from_a_temporary_file(self) -> None:
        self.login(self.adam)
        with patch.object(export, "SPOOL_BYTES", 1024):
            response = self.client.post("/clinic/export/download/")
        self.assertTrue(response.streaming)
        content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        archive = zipfile.ZipFile(io.BytesIO(content))
        self.assertIn("schema.json", archive.namelist())
        self.assertIn("attachment", response["Content-Disposition"])

    def test_the_export_needs_a_post(self) -> None:
        self.login(self.adam)
        self.assertEqual(self.client.get("/clinic/export/download/").status_code, 405)
        self.assertContains(self.client.get("/clinic/export/"), "Download the export")


def test_every_stored_file_belongs_to_a_table_the_export_carries() -> None:
    """Stored attachments are exported with their rows: every model with a file column is a
    clinic table (so `_write_attachments` reaches it)."""
    with_files = [m for m in apps.get_models() if export.file_fields(m)]
    assert with_files, "the prior-authorization documents are stored files"
    assert set(with_files) <= set(export.clinic_models())
    assert export.clinic_models()
