"""Structured request logs, request ids, /metrics, and the promise that neither logs nor
metrics carry patient data."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from django.tasks import task
from django.test import override_settings
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from katclinic.api.models import ApiToken, Scope
from katclinic.core.models import WorkerHeartbeat
from katclinic.core.observability import JsonFormatter, observe
from katclinic.testing import ClinicTestCase

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@task()
def fail_on_purpose() -> None:
    raise RuntimeError("the task broke")


@task()
def succeed() -> int:
    return 1


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged anywhere, at every level, formatted as production formats it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def request_lines(text: str) -> list[dict]:
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [e for e in entries if e["logger"] == "katclinic.request" and e["message"] == "request"]


class RequestLogTest(ClinicTestCase):
    def test_it_logs_the_route_pattern_user_and_clinic_not_the_path(self) -> None:
        self.login(self.paula)
        with captured_logs() as out:
            response = self.client.get(reverse("patients:chart", args=[self.pat.pk]) + "?q=Doe")
        (line,) = request_lines(out.getvalue())
        self.assertEqual(line["route"], "patients/<int:patient_id>/")
        self.assertEqual(line["status"], response.status_code)
        self.assertEqual(line["method"], "GET")
        self.assertEqual((line["user_id"], line["clinic_id"]), (self.paula.pk, self.clinic.pk))
        self.assertEqual(line["request_id"], response["X-Request-ID"])
        self.assertGreater(line["duration_ms"], 0)
        self.assertNotIn(f"/patients/{self.pat.pk}/", out.getvalue())

    def test_a_well_formed_incoming_request_id_is_kept(self) -> None:
        response = self.client.get("/healthz", headers={"X-Request-ID": "lb-4f2a9c1e77"})
        self.assertEqual(response["X-Request-ID"], "lb-4f2a9c1e77")

    def test_a_malformed_request_id_is_replaced(self) -> None:
        for bad in ["short", "has space in it", "x" * 200, "new\nline-injected"]:
            response = self.client.get("/healthz", headers={"X-Request-ID": bad})
            self.assertNotEqual(response["X-Request-ID"], bad)
            self.assertRegex(response["X-Request-ID"], r"^[0-9a-f]{32}$")

    def test_an_unmatched_url_is_logged_without_its_path(self) -> None:
        with captured_logs() as out:
            self.client.get("/no-such-page/K000001/")
        (line,) = request_lines(out.getvalue())
        self.assertEqual((line["route"], line["status"]), ("<unmatched>", 404))
        self.assertNotIn("K000001", out.getvalue())

    def test_an_exception_is_logged_as_class_and_stack_without_its_message(self) -> None:
        try:
            raise ValueError("Key (email)=(pat@example.org) already exists")
        except ValueError:
            record = logging.getLogger("x").makeRecord(
                "x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info()
            )
        entry = json.loads(JsonFormatter().format(record))
        self.assertEqual(entry["exception"], "builtins.ValueError")
        self.assertIn("test_observability.py", entry["stack"][0])
        self.assertNotIn("pat@example.org", json.dumps(entry))


class NoPatientDataInLogsTest(ClinicTestCase):
    """Walk through a working day with every log record captured, then look for anything
    that identifies a patient."""

    def identifiers(self) -> list[str]:
        return [
            "Doe",
            "Roe",
            "Stranger",
            "pat@example.org",
            "quinn@example.org",
            "K000001",
            "K000002",
            "555-0101",
            "Zelda",
            "Quixotic",
            "zq@example.net",
            "1985-04-12",
        ]

    def test_typical_flows_log_no_names_emails_or_record_numbers(self) -> None:
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        bearer = {"Authorization": f"Bearer {raw}"}
        with captured_logs() as out:
            self.client.get(reverse("accounts:login"))
            self.client.post(
                reverse("accounts:login"), {"username": "pat@example.org", "password": "wrong"}
            )
            self.login(self.paula)
            self.client.get(reverse("patients:list") + "?q=Doe")
            self.client.get(reverse("patients:chart", args=[self.pat.pk]))
            self.client.get(reverse("patients:chart", args=[self.stranger.pk]))
            self.client.post(
                reverse("patients:register"),
                {
                    "first_name": "Zelda",
                    "last_name": "Quixotic",
                    "date_of_birth": "1985-04-12",
                    "sex_at_birth": "female",
                    "email": "zq@example.net",
                },
            )
            self.client.post(reverse("patients:register"), {"first_name": "Zelda"})
            self.client.post(
                reverse("patients:add_item", args=[self.pat.pk, "weight"]),
                {"value": "150", "unit": "lb", "measured_on": "2026-01-05"},
            )
            self.client.get(reverse("api:patients_list") + "?q=Roe", headers=bearer)
            self.client.get(reverse("api:patients_detail", args=[self.quinn.pk]), headers=bearer)
            self.client.get(reverse("api:patients_detail", args=[self.stranger.pk]), headers=bearer)
        text = out.getvalue()
        self.assertGreaterEqual(len(request_lines(text)), 11)
        for identifier in self.identifiers():
            self.assertNotIn(identifier, text, f"{identifier!r} appeared in the logs")


class MetricsTest(ClinicTestCase):
    token = "metrics-token-for-tests-0123456789"

    def scrape(self, token: str | None = None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with mock.patch.dict(os.environ, {"METRICS_TOKEN": self.token}):
            response = self.client.get("/metrics", headers=headers)
        return response.status_code, response.content.decode()

    def test_it_is_off_without_a_configured_token(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("METRICS_TOKEN", None)
            response = self.client.get("/metrics")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "katclinic_", status_code=404)

    def test_a_missing_or_wrong_token_is_refused(self) -> None:
        self.assertEqual(self.scrape()[0], 401)
        self.assertEqual(self.scrape("not-the-token")[0], 401)

    def test_it_counts_requests_by_route_and_times_them(self) -> None:
        self.login(self.paula)
        self.client.get(reverse("patients:chart", args=[self.pat.pk]))
        status, body = self.scrape(self.token)
        self.assertEqual(status, 200)
        route = 'method="GET",route="patients/<int:patient_id>/",status="200"'
        self.assertRegex(body, rf"katclinic_http_requests_total\{{{route}\}} \d+")
        self.assertIn('{le="+Inf",method="GET",route="patients/<int:patient_id>/"}', body)
        self.assertNotIn(str(self.pat.pk) + "/", body.replace("<int:patient_id>/", ""))

    def test_it_reports_worker_heartbeat_and_queue_gauges(self) -> None:
        WorkerHeartbeat.objects.create(worker_id="w1")
        _, body = self.scrape(self.token)
        self.assertRegex(body, r"katclinic_worker_heartbeat_age_seconds \d")
        self.assertIn("katclinic_tasks_ready 0", body)
        self.assertIn("katclinic_tasks_oldest_ready_age_seconds 0", body)
        self.assertIn("katclinic_safety_alerts_open 0", body)

    def test_labels_are_escaped(self) -> None:
        observe("GET", 'odd"route\\', 200, 0.01)
        _, body = self.scrape(self.token)
        self.assertIn('route="odd\\"route\\\\"', body)


WORKER = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "katclinic.settings"
from katclinic.core.observability import observe
for _ in range(int(sys.argv[1])):
    observe("GET", "patients/", 200, 0.02)
"""


class MultiprocessMetricsTest(ClinicTestCase):
    """gunicorn's workers are separate processes: a scrape answered by any one of them
    counts the requests of all of them, those of a worker that has exited included."""

    def test_a_scrape_adds_up_every_worker_process(self) -> None:
        with tempfile.TemporaryDirectory() as directory:
            env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=directory)
            for count in (3, 4):  # two worker processes, each gone when the scrape comes
                subprocess.run(  # noqa: S603 - this interpreter with a fixed script
                    [sys.executable, "-c", WORKER, str(count)], env=env, check=True, timeout=120
                )
            with mock.patch.dict(
                os.environ, {"PROMETHEUS_MULTIPROC_DIR": directory, "METRICS_TOKEN": "t" * 20}
            ):
                body = self.client.get(
                    "/metrics", headers={"Authorization": "Bearer " + "t" * 20}
                ).content.decode()
        route = 'method="GET",route="patients/",status="200"'
        self.assertIn(f"katclinic_http_requests_total{{{route}}} 7.0", body)
        self.assertIn(
            'katclinic_http_request_duration_seconds_count{method="GET",route="patients/"} 7.0',
            body,
        )
        self.assertIn("katclinic_tasks_ready 0.0", body)


@override_settings(TASKS=DB_TASKS)
class TaskQueueVisibilityTest(ClinicTestCase):
    """Background tasks run by the database worker: a failure is kept, visible as FAILED
    with its exception, and counted in /metrics. django_tasks_db does not retry a failed
    task by itself; periodic jobs run again at their next interval (they are idempotent)."""

    def run_worker_once(self) -> None:
        # The worker closes connections that are not in autocommit mode; inside a test's
        # transaction that would drop the test database connection (seen on PostgreSQL).
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            self._run_worker()

    def _run_worker(self) -> None:
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

    def test_a_failing_task_shows_up_as_failed_and_in_metrics(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            failing = fail_on_purpose.enqueue()
            fine = succeed.enqueue()
        self.assertEqual(DBTaskResult.objects.ready().count(), 2)
        with mock.patch.dict(os.environ, {"METRICS_TOKEN": "t" * 20}):
            before = self.client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 20})
        self.assertIn("katclinic_tasks_ready 2", before.content.decode())

        self.run_worker_once()

        failed = DBTaskResult.objects.get(pk=failing.id)
        self.assertEqual(failed.status, "FAILED")
        self.assertEqual(failed.exception_class_path, "builtins.RuntimeError")
        self.assertIn("fail_on_purpose", failed.traceback)
        self.assertEqual(DBTaskResult.objects.get(pk=fine.id).status, "SUCCESSFUL")
        with mock.patch.dict(os.environ, {"METRICS_TOKEN": "t" * 20}):
            after = self.client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 20})
        body = after.content.decode()
        self.assertIn("katclinic_tasks_failed 1", body)
        self.assertIn('katclinic_tasks{status="SUCCESSFUL"} 1', body)
        self.assertIn("katclinic_tasks_ready 0", body)
