"""Bulk Data $export end to end over HTTP: a backend service signs its assertion, gets a
token, kicks off an export, the worker writes it, and the service reads the manifest and
downloads NDJSON that validates as FHIR R4B, holding this clinic's data and no other's."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from unittest import mock

from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from fhir.resources.R4B import get_fhir_model_class

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.bulk.exporter import file_path, prune_exports
from katclinic.bulk.models import ExportJob
from katclinic.fhir.tests.factories import make_response
from katclinic.patients.models import Patient
from katclinic.smart import services as smart_services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.smart.tests.helpers import VERIFIER, exchange, register
from katclinic.testing import ClinicTestCase

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def run_worker_once() -> None:
    """Run the queued tasks as `manage.py worker` does, then stop."""
    # The worker closes connections that are not in autocommit mode; inside a test's
    # transaction that would drop the test database connection.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()


def lines(response: Any) -> list[dict[str, Any]]:
    text = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in text.splitlines() if line]


@override_settings(TASKS=DB_TASKS)
class ExportTest(ClinicTestCase):
    def setUp(self) -> None:
        self.service = Service()
        self.app = self.service.register(self)
        self.token = token_for(self.service, self.app)
        make_response(self.pat)
        make_response(self.stranger)  # clinic B's: never in clinic A's export

    def get(self, url: str, token: str | None = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {token or self.token}"}
        return Client().get(url, headers=auth | headers)

    def kick_off(self, query: str = "", path: str = "/fhir/R4/$export", **headers: str) -> str:
        answer = self.get(f"{path}{query}", **(ASYNC | headers))
        self.assertEqual(answer.status_code, 202, answer.content)
        return str(answer["Content-Location"])

    def finished(self, status_url: str) -> dict[str, Any]:
        running = self.get(status_url)
        self.assertEqual(running.status_code, 202)
        self.assertTrue(running["X-Progress"])
        run_worker_once()
        done = self.get(status_url)
        self.assertEqual(done.status_code, 200, done.content)
        return dict(done.json())

    def download(self, manifest: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
        url = next(item["url"] for item in manifest["output"] if item["type"] == type_name)
        answer = self.get(url, Accept="application/fhir+ndjson")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer["Content-Type"], "application/fhir+ndjson")
        return lines(answer)

    def test_a_system_export_runs_from_kick_off_to_valid_ndjson(self) -> None:
        manifest = self.finished(self.kick_off())
        self.assertTrue(manifest["requiresAccessToken"])
        self.assertEqual(manifest["error"], [])
        self.assertTrue(manifest["request"].endswith("/fhir/R4/$export"))
        counts = {item["type"]: item["count"] for item in manifest["output"]}
        patients = self.download(manifest, "Patient")
        clinic_patients = Patient.objects.filter(clinic=self.clinic).count()
        self.assertEqual(len(patients), clinic_patients)
        self.assertEqual(counts["Patient"], clinic_patients)
        self.assertEqual({p["id"] for p in patients}, {str(self.pat.pk), str(self.quinn.pk)})
        for type_name in counts:
            resources = self.download(manifest, type_name)
            self.assertEqual(len(resources), counts[type_name])
            for resource in resources:
                self.assertEqual(resource["resourceType"], type_name)
                get_fhir_model_class(type_name).model_validate(resource)
                self.assertNotIn(f"Patient/{self.stranger.pk}", json.dumps(resource))
        observations = self.download(manifest, "Observation")
        self.assertTrue(observations)
        self.assertEqual(
            {o["subject"]["reference"] for o in observations}, {f"Patient/{self.pat.pk}"}
        )

    def test_one_audit_event_names_the_patients_exported(self) -> None:
        self.finished(self.kick_off())
        events = AuditEvent.objects.filter(action=Action.EXPORT, object_type="bulk.exportjob")
        self.assertEqual(events.count(), 1)
        event = events.get()
        self.assertEqual(event.clinic_id, self.clinic.pk)
        self.assertEqual(event.detail["patients"], sorted([self.pat.pk, self.quinn.pk]))
        self.assertEqual(event.detail["app"], self.app.name)

    def test_type_limits_the_files(self) -> None:
        manifest = self.finished(self.kick_off("?_type=Patient"))
        self.assertEqual([item["type"] for item in manifest["output"]], ["Patient"])

    def test_since_keeps_only_what_changed_after_it(self) -> None:
        long_ago = timezone.now() - timedelta(days=30)
        Patient.objects.filter(pk=self.pat.pk).update(created_at=long_ago)
        since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest = self.finished(self.kick_off(f"?_type=Patient&_since={since}"))
        ids = [p["id"] for p in self.download(manifest, "Patient")]
        self.assertEqual(ids, [str(self.quinn.pk)])

    def test_the_patient_level_export_holds_only_compartment_types(self) -> None:
        manifest = self.finished(self.kick_off(path="/fhir/R4/Patient/$export"))
        types = {item["type"] for item in manifest["output"]}
        self.assertIn("Patient", types)
        self.assertNotIn("Questionnaire", types)

    def test_another_service_cannot_read_the_status_or_files(self) -> None:
        status_url = self.kick_off()
        manifest = self.finished(status_url)
        other = Service()
        other_token = token_for(other, other.register(self))
        status = self.get(status_url, other_token)
        self.assertEqual(status.status_code, 404)
        self.assertNotIn("output", status.json())
        file_url = manifest["output"][0]["url"]
        refused = self.get(file_url, other_token)
        self.assertEqual(refused.status_code, 404)
        self.assertNotContains(refused, self.pat.last_name, status_code=404)
        anonymous = Client().get(file_url)
        self.assertEqual(anonymous.status_code, 401)
        self.assertNotContains(anonymous, self.pat.last_name, status_code=401)

    def test_delete_cancels_and_removes_the_files(self) -> None:
        status_url = self.kick_off()
        manifest = self.finished(status_url)
        job = ExportJob.objects.get()
        self.assertTrue(file_path(job, "Patient").exists())
        auth = {"Authorization": f"Bearer {self.token}"}
        self.assertEqual(Client().delete(status_url, headers=auth).status_code, 202)
        self.assertFalse(file_path(job, "Patient").exists())
        self.assertEqual(self.get(status_url).status_code, 404)
        self.assertEqual(self.get(manifest["output"][0]["url"]).status_code, 404)

    def test_a_cancelled_queued_export_is_never_written(self) -> None:
        status_url = self.kick_off()
        auth = {"Authorization": f"Bearer {self.token}"}
        self.assertEqual(Client().delete(status_url, headers=auth).status_code, 202)
        run_worker_once()
        job = ExportJob.objects.get()
        self.assertEqual(job.status, ExportJob.Status.CANCELLED)
        self.assertFalse(file_path(job, "Patient").exists())
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())

    def test_expired_files_are_pruned(self) -> None:
        status_url = self.kick_off()
        self.finished(status_url)
        job = ExportJob.objects.get()
        ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(hours=1))
        self.assertEqual(prune_exports.call(), 1)
        self.assertFalse(file_path(job, "Patient").exists())
        self.assertEqual(self.get(status_url).status_code, 404)
        self.assertEqual(prune_exports.call(), 0)  # idempotent


@override_settings(TASKS=DB_TASKS)
class KickOffRefusedTest(ClinicTestCase):
    def setUp(self) -> None:
        self.service = Service()
        self.app = self.service.register(self)
        self.token = token_for(self.service, self.app)

    def assert_refused(self, answer: Any, status: int, field: str = "") -> None:
        self.assertEqual(answer.status_code, status, answer.content)
        outcome = answer.json()
        self.assertEqual(outcome["resourceType"], "OperationOutcome")
        if field:
            self.assertEqual(outcome["issue"][0]["expression"], [field])
        self.assertEqual(ExportJob.objects.count(), 0)

    def ask(self, query: str = "", token: str | None = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {token or self.token}"}
        return Client().get(f"/fhir/R4/$export{query}", headers=auth | headers)

    def test_without_prefer_respond_async_it_is_a_400(self) -> None:
        self.assert_refused(self.ask(), 400, "Prefer")

    def test_bad_parameters_are_400s_naming_them(self) -> None:
        cases = {
            "?_outputFormat=text/csv": "_outputFormat",
            "?_type=Basic": "_type",
            "?_since=yesterday": "_since",
            "?_since=2025-02-30T10:00:00Z": "_since",
            "?_type=Patient&_type=Flag": "_type",
            "?_typeFilter=Patient?eye-colour=blue": "_typeFilter",
        }
        for query, field in cases.items():
            with self.subTest(query):
                self.assert_refused(self.ask(query, Prefer="respond-async"), 400, field)

    def test_a_type_outside_the_scopes_is_a_403(self) -> None:
        service = Service()
        app = service.register(self, scopes="system/Patient.rs")
        token = token_for(service, app, scope="system/Patient.rs")
        self.assert_refused(self.ask("?_type=Observation", token, Prefer="respond-async"), 403)

    def test_a_patient_level_smart_token_is_refused(self) -> None:
        app = register(self)[0]
        _, code = smart_services.authorize(
            app=app,
            user=self.pat_user,
            patient=self.pat,
            scopes=parse_scopes("launch/patient patient/*.rs", served_types()),
            redirect_uri="https://diary.example.org/callback",
            code_challenge=s256(VERIFIER),
        )
        raw = exchange(app, code).json()["access_token"]
        self.assert_refused(self.ask(token=raw, Prefer="respond-async"), 403)

    def test_a_staff_api_token_is_refused(self) -> None:
        _, raw = ApiToken.issue(
            user=self.adam, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        self.assert_refused(self.ask(token=raw, Prefer="respond-async"), 403)

    def test_no_token_or_an_expired_one_is_a_401(self) -> None:
        answer = Client().get("/fhir/R4/$export", headers={"Prefer": "respond-async"})
        self.assert_refused(answer, 401)
        self.app.backend_tokens.update(expires_at=timezone.now())
        self.assert_refused(self.ask(Prefer="respond-async"), 401)

    def test_a_post_kick_off_is_a_405(self) -> None:
        answer = Client().post(
            "/fhir/R4/$export", headers={"Authorization": f"Bearer {self.token}"}
        )
        self.assert_refused(answer, 405)
