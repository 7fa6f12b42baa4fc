"""One patient's whole record, exported by an admin from the chart in the clinic export's
format: every table that holds the patient's rows, and no one else's."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics import export
from katclinic.dosing.models import Administration, DosingSession
from katclinic.fhir.tests.factories import make_administration, make_response, make_session
from katclinic.measures.models import Response
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase


class PatientExportTest(ClinicTestCase):
    def setUp(self) -> None:
        self.session = make_session(self.pat, self.paula)
        make_administration(self.session, self.nick)
        self.mine = make_response(self.pat)
        self.theirs = make_response(self.quinn)
        make_response(self.stranger)

    def download(self, patient: Patient | None = None) -> zipfile.ZipFile:
        self.login(self.adam)
        answer = self.client.post(f"/clinic/export/patient/{(patient or self.pat).pk}/")
        self.assertEqual(answer.status_code, 200, answer.content[:300])
        self.assertEqual(answer["Content-Type"], "application/zip")
        self.assertIn(f"record-{self.pat.mrn.lower()}", answer["Content-Disposition"])
        return zipfile.ZipFile(io.BytesIO(answer.content))

    def rows(self, archive: zipfile.ZipFile, table: str) -> list[dict[str, Any]]:
        text = archive.read(f"tables/{table}.jsonl").decode()
        return [json.loads(line) for line in text.splitlines() if line]

    def test_the_record_holds_the_patients_rows_and_no_one_elses(self) -> None:
        archive = self.download()
        self.assertEqual([r["id"] for r in self.rows(archive, "patients.patient")], [self.pat.pk])
        responses = self.rows(archive, "measures.response")
        self.assertEqual([r["id"] for r in responses], [self.mine.pk])
        sessions = self.rows(archive, "dosing.dosingsession")
        self.assertEqual([r["id"] for r in sessions], [self.session.pk])
        # A dose reaches its patient through its session.
        doses = self.rows(archive, "dosing.administration")
        expected = Administration.objects.filter(session=self.session).values_list("pk", flat=True)
        self.assertEqual([r["id"] for r in doses], list(expected))
        text = b"".join(archive.read(name) for name in archive.namelist()).decode()
        self.assertNotIn(self.quinn.mrn, text)
        self.assertNotIn("Stranger", text)

    def test_it_is_documented_like_the_clinic_export(self) -> None:
        archive = self.download()
        schema = json.loads(archive.read("schema.json"))
        self.assertEqual(schema["patient"], {"id": self.pat.pk, "mrn": self.pat.mrn})
        tables = {t["table"]: t for t in schema["tables"]}
        self.assertEqual(tables["dosing.administration"]["patient_link"], "session__patient")
        self.assertEqual(tables["measures.response"]["rows"], 1)
        self.assertNotIn("protocols.protocolversion", tables)  # the clinic's, no one's record
        readme = archive.read("README.txt").decode()
        self.assertIn(f"Record of {self.pat.full_name}", readme)
        self.assertIn("tables/measures.response.jsonl", readme)
        people = [json.loads(line) for line in archive.read("people.jsonl").decode().splitlines()]
        ids = {p["id"] for p in people}
        self.assertIn(self.pat_user.pk, ids)
        self.assertIn(self.paula.pk, ids)  # she signed the plan the session follows
        self.assertNotIn(self.quinn_user.pk, ids)
        self.assertNotIn("password", people[0])

    def test_every_table_that_names_a_patient_is_reached(self) -> None:
        for model in export.clinic_models():
            names_patient = any(
                (f.is_relation and f.related_model is Patient) or f.attname == "patient_id"
                for f in model._meta.concrete_fields
            )
            if names_patient:
                with self.subTest(model._meta.label_lower):
                    self.assertIsNotNone(export.patient_lookup(model))

    def test_one_export_event_names_the_patient(self) -> None:
        self.download()
        event = AuditEvent.objects.get(action=Action.EXPORT)
        self.assertEqual(event.patient_id, self.pat.pk)
        self.assertEqual(event.user_id, self.adam.pk)
        self.assertEqual(event.detail["export"], "patient record export")
        self.assertEqual(event.detail["tables"]["measures.response"], 1)

    def test_the_chart_offers_it_to_admins_only(self) -> None:
        url = f"/clinic/export/patient/{self.pat.pk}/"
        self.login(self.adam)
        self.assertContains(self.client.get(f"/patients/{self.pat.pk}/"), url)
        self.login(self.paula)
        self.assertNotContains(self.client.get(f"/patients/{self.pat.pk}/"), url)

    def test_other_roles_and_clinics_are_refused_and_nothing_is_exported(self) -> None:
        url = f"/clinic/export/patient/{self.pat.pk}/"
        for user in (self.paula, self.nick, self.alice):
            with self.subTest(user.full_name):
                self.login(user)
                self.assertEqual(self.client.post(url).status_code, 403)
        self.login(self.adam)
        self.assertEqual(
            self.client.post(f"/clinic/export/patient/{self.stranger.pk}/").status_code, 404
        )
        self.assertEqual(self.client.post("/clinic/export/patient/99999999/").status_code, 404)
        self.assertEqual(self.client.get(url).status_code, 405)
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())
        self.assertEqual(Response.objects.count(), 3)
        self.assertEqual(DosingSession.objects.count(), 1)
