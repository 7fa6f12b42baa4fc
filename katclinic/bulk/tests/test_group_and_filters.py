"""Group-level $export (a protocol's patients), _typeFilter at every level, and what a
client is told when an export fails or its worker dies; all over HTTP with a backend
service's signed token and the real worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client, override_settings
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.bulk.exporter import fail_stuck_exports, file_path, job_dir
from katclinic.bulk.models import ExportJob
from katclinic.bulk.tests.test_export import ASYNC, DB_TASKS, lines, run_worker_once
from katclinic.clinics.registry import set_setting
from katclinic.dosing.tests.factories import protocol_version, signed_plan
from katclinic.fhir.tests.factories import make_checkpoint, make_response, make_session
from katclinic.protocols.models import Plan, PlanStatus
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.testing import ClinicTestCase

PHQ9_TOTAL = "http://loinc.org|44261-6"


@override_settings(TASKS=DB_TASKS)
class BulkTestCase(ClinicTestCase):
    def setUp(self) -> None:
        self.service = Service()
        self.app = self.service.register(self)
        self.token = token_for(self.service, self.app)
        # pat is treated under the IV protocol; quinn has only a draft plan under it.
        signed_plan(self.pat, self.paula, "iv_ketamine_elektd", dose="35", low="7", high="52.5")
        Plan.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            protocol_version=protocol_version(self.clinic, "iv_ketamine_elektd"),
            status=PlanStatus.DRAFT,
            created_by=self.paula,
        )
        self.group = protocol_version(self.clinic, "iv_ketamine_elektd")
        self.phq9 = make_response(self.pat)
        self.gad7 = make_response(self.pat, key="gad7")
        make_response(self.quinn)

    def get(self, url: str, token: str | None = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {token or self.token}"}
        return Client().get(url, headers=auth | headers)

    def kick_off(self, path: str, query: str = "") -> str:
        answer = self.get(f"{path}{query}", **ASYNC)
        self.assertEqual(answer.status_code, 202, answer.content)
        return str(answer["Content-Location"])

    def manifest(self, status_url: str) -> dict[str, Any]:
        run_worker_once()
        done = self.get(status_url)
        self.assertEqual(done.status_code, 200, done.content)
        return dict(done.json())

    def download(self, manifest: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
        found = [item["url"] for item in manifest["output"] if item["type"] == type_name]
        if not found:
            return []
        answer = self.get(found[0], Accept="application/fhir+ndjson")
        self.assertEqual(answer.status_code, 200)
        return lines(answer)

    def assert_refused(self, answer: Any, status: int, field: str | None = None) -> str:
        self.assertEqual(answer.status_code, status, answer.content)
        outcome = answer.json()
        self.assertEqual(outcome["resourceType"], "OperationOutcome")
        if field is not None:
            self.assertEqual(outcome["issue"][0]["expression"], [field])
        self.assertEqual(ExportJob.objects.count(), 0)
        return str(outcome["issue"][0]["diagnostics"])


class GroupExportTest(BulkTestCase):
    def test_a_group_export_holds_only_the_protocols_patients(self) -> None:
        manifest = self.manifest(self.kick_off(f"/fhir/R4/Group/{self.group.pk}/$export"))
        self.assertTrue(manifest["request"].endswith(f"/Group/{self.group.pk}/$export"))
        patients = self.download(manifest, "Patient")
        self.assertEqual([p["id"] for p in patients], [str(self.pat.pk)])
        observations = self.download(manifest, "Observation")
        self.assertEqual(len(observations), 2)
        self.assertEqual(
            {o["subject"]["reference"] for o in observations}, {f"Patient/{self.pat.pk}"}
        )
        types = {item["type"] for item in manifest["output"]}
        self.assertNotIn("Questionnaire", types)
        event = AuditEvent.objects.get(action=Action.EXPORT, object_type="bulk.exportjob")
        self.assertEqual(event.detail["patients"], [self.pat.pk])
        self.assertEqual(event.detail["group"], f"Group/{self.group.pk}")

    def test_a_member_whose_plan_stopped_is_still_exported(self) -> None:
        Plan.objects.filter(patient=self.pat).update(status=PlanStatus.STOPPED)
        manifest = self.manifest(self.kick_off(f"/fhir/R4/Group/{self.group.pk}/$export"))
        self.assertEqual([p["id"] for p in self.download(manifest, "Patient")], [str(self.pat.pk)])

    def test_without_a_signed_plan_the_patient_is_not_exported(self) -> None:
        # The upstream fact removed: pat's only plan goes back to a draft.
        Plan.objects.filter(patient=self.pat).update(status=PlanStatus.DRAFT)
        manifest = self.manifest(self.kick_off(f"/fhir/R4/Group/{self.group.pk}/$export"))
        self.assertEqual(manifest["output"], [])
        event = AuditEvent.objects.get(action=Action.EXPORT, object_type="bulk.exportjob")
        self.assertEqual(event.detail["patients"], [])

    def test_an_unknown_group_is_a_404_and_nothing_is_queued(self) -> None:
        for raw in ("999999", "abc", "0"):
            with self.subTest(raw):
                answer = self.get(f"/fhir/R4/Group/{raw}/$export", **ASYNC)
                self.assertIn("is not known", self.assert_refused(answer, 404))

    def test_another_clinics_group_is_a_404(self) -> None:
        theirs = protocol_version(self.other_clinic, "iv_ketamine_elektd")
        answer = self.get(f"/fhir/R4/Group/{theirs.pk}/$export", **ASYNC)
        self.assert_refused(answer, 404)
        denied = AuditEvent.objects.filter(action=Action.DENIED, object_type="url").count()
        self.assertEqual(denied, 1)

    def test_a_service_without_group_in_its_scopes_is_a_403(self) -> None:
        service = Service()
        app = service.register(self, scopes="system/Patient.rs")
        token = token_for(service, app, scope="system/Patient.rs")
        answer = self.get(f"/fhir/R4/Group/{self.group.pk}/$export?_type=Patient", token, **ASYNC)
        self.assert_refused(answer, 403)


class TypeFilterTest(BulkTestCase):
    def test_a_type_filter_keeps_only_matching_resources(self) -> None:
        query = f"?_type=Observation,Patient&_typeFilter=Observation?code={PHQ9_TOTAL}"
        manifest = self.manifest(self.kick_off("/fhir/R4/$export", query))
        observations = self.download(manifest, "Observation")
        codes = {o["code"]["coding"][0]["code"] for o in observations}
        self.assertEqual(codes, {"44261-6"})
        self.assertEqual(len(observations), 2)  # pat's and quinn's PHQ-9, not pat's GAD-7
        self.assertEqual(len(self.download(manifest, "Patient")), 2)  # not filtered
        job = ExportJob.objects.get()
        self.assertEqual(job.type_filters, {"Observation": [f"code={PHQ9_TOTAL}"]})

    def test_filters_of_one_type_or_together(self) -> None:
        query = f"?_typeFilter=Observation?code={PHQ9_TOTAL}&_typeFilter=Patient?_id={self.pat.pk}"
        query += f"&_typeFilter=Observation?patient=Patient/{self.pat.pk}"
        manifest = self.manifest(self.kick_off("/fhir/R4/Patient/$export", query))
        observations = self.download(manifest, "Observation")
        self.assertEqual(len(observations), 3)  # every PHQ-9, and pat's GAD-7
        self.assertEqual([p["id"] for p in self.download(manifest, "Patient")], [str(self.pat.pk)])

    def test_a_type_filter_narrows_a_group_export(self) -> None:
        query = f"?_typeFilter=Observation?code={PHQ9_TOTAL}"
        manifest = self.manifest(self.kick_off(f"/fhir/R4/Group/{self.group.pk}/$export", query))
        ids = [o["id"] for o in self.download(manifest, "Observation")]
        self.assertEqual(ids, [str(self.phq9.pk)])

    def test_vital_signs_are_exported_and_filtered_with_the_scores(self) -> None:
        reading = make_checkpoint(make_session(self.pat, self.paula), self.nick)
        quinns = make_checkpoint(make_session(self.quinn, self.paula), self.nick, spo2=97)
        manifest = self.manifest(self.kick_off("/fhir/R4/Patient/$export?_type=Observation"))
        everything = {o["id"] for o in self.download(manifest, "Observation")}
        keys = ("bp", "hr", "rr", "spo2", "moaas", "cadss6")
        self.assertLessEqual({f"{key}-{reading.pk}" for key in keys}, everything)
        self.assertIn(f"spo2-{quinns.pk}", everything)
        self.assertIn(str(self.phq9.pk), everything)
        query = "?_type=Observation&_typeFilter=Observation?category=vital-signs"
        query += f"&_typeFilter=Observation?code={PHQ9_TOTAL}%26patient=Patient/{self.pat.pk}"
        manifest = self.manifest(self.kick_off("/fhir/R4/$export", query))
        ids = {o["id"] for o in self.download(manifest, "Observation")}
        vitals = {f"{key}-{reading.pk}" for key in ("bp", "hr", "rr", "spo2")}
        # pat's vital signs and PHQ-9, and quinn's one vital sign (not quinn's PHQ-9)
        self.assertEqual(ids, vitals | {str(self.phq9.pk), f"spo2-{quinns.pk}"})

    def test_a_bad_type_filter_is_a_400_naming_it_and_queues_nothing(self) -> None:
        cases = {
            "Observation?colour=red": "colour",
            "Observation?_sort=date": "_sort",
            "Observation?_include=Observation:patient": "_include",
            "Observation?date=yesterday": "yesterday",
            "Observation?patient=Patient/x": "Patient/x",
            "Observation": "a type and a search",
            "Observation?": "a type and a search",
            "Basic?code=1": "Basic",
            "Observation?code=%00": "NUL",
            "Observation?code=" + "1" * 2100: "at most",
        }
        for value, named in cases.items():
            with self.subTest(value[:40]):
                answer = Client().get(
                    "/fhir/R4/$export",
                    {"_typeFilter": value},
                    headers={"Authorization": f"Bearer {self.token}"} | ASYNC,
                )
                message = self.assert_refused(answer, 400, "_typeFilter")
                self.assertIn(named, message)

    def test_a_filter_for_a_type_not_exported_is_a_400(self) -> None:
        answer = Client().get(
            "/fhir/R4/$export",
            {"_type": "Patient", "_typeFilter": f"Observation?code={PHQ9_TOTAL}"},
            headers={"Authorization": f"Bearer {self.token}"} | ASYNC,
        )
        self.assertIn("does not include", self.assert_refused(answer, 400, "_typeFilter"))


class FailedExportTest(BulkTestCase):
    def test_a_worker_error_is_a_500_outcome_saying_what_stopped(self) -> None:
        status_url = self.kick_off("/fhir/R4/$export", "?_type=Patient")
        job = ExportJob.objects.get()
        # The Patient file cannot be written: its partial file's name is taken by a folder.
        job_dir(job).mkdir(parents=True)
        file_path(job, "Patient").with_suffix(".part").mkdir()
        run_worker_once()
        job.refresh_from_db()
        self.assertEqual(job.status, ExportJob.Status.FAILED)
        answer = self.get(status_url)
        self.assertEqual(answer.status_code, 500)
        self.assertEqual(answer["Content-Type"], "application/fhir+json; charset=utf-8")
        issue = answer.json()["issue"][0]
        self.assertEqual(issue["code"], "exception")
        self.assertIn("while writing Patient", issue["diagnostics"])
        self.assertIn("IsADirectoryError", issue["diagnostics"])
        self.assertIn("start a new one", issue["diagnostics"])
        self.assertFalse(job_dir(job).exists())
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())

    def stalled(self, minutes_ago: int) -> tuple[str, ExportJob]:
        status_url = self.kick_off("/fhir/R4/$export", "?_type=Patient")
        job = ExportJob.objects.get()
        # A worker that took the job and died: running, started long ago, never finished.
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.RUNNING,
            started_at=timezone.now() - timedelta(minutes=minutes_ago),
            progress="writing Patient (1 of 1 types)",
        )
        return status_url, job

    def test_an_export_running_past_the_clinics_limit_is_failed(self) -> None:
        status_url, job = self.stalled(minutes_ago=121)
        answer = self.get(status_url)
        self.assertEqual(answer.status_code, 500)
        issue = answer.json()["issue"][0]
        self.assertEqual(issue["code"], "timeout")
        self.assertIn("still running after 120 minutes", issue["diagnostics"])
        job.refresh_from_db()
        self.assertEqual(job.status, ExportJob.Status.FAILED)

    def test_within_the_limit_it_is_still_in_progress(self) -> None:
        status_url, job = self.stalled(minutes_ago=119)
        self.assertEqual(self.get(status_url).status_code, 202)
        self.assertEqual(fail_stuck_exports.call(), 0)
        job.refresh_from_db()
        self.assertEqual(job.status, ExportJob.Status.RUNNING)

    def test_the_periodic_check_uses_the_clinics_setting(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="bulk_export_running_minutes",
            raw="30",
            by=self.adam,
            reason="exports here are small",
        )
        _, job = self.stalled(minutes_ago=31)
        self.assertEqual(fail_stuck_exports.call(), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ExportJob.Status.FAILED)
        self.assertIn("after 30 minutes", job.error)
        self.assertEqual(fail_stuck_exports.call(), 0)  # idempotent
