"""/healthz: database, worker heartbeat and disk, for load balancers and monitors."""

from datetime import timedelta
from unittest import mock

from django.db import OperationalError
from django.test import TestCase, override_settings
from django.utils import timezone

from katclinic.core.models import WorkerHeartbeat


class HealthzTest(TestCase):
    def test_it_is_ok_with_a_fresh_worker_heartbeat(self) -> None:
        WorkerHeartbeat.objects.create(worker_id="w1", at=timezone.now() - timedelta(seconds=5))
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertTrue(body["checks"]["database"]["ok"])
        self.assertTrue(body["checks"]["worker"]["ok"])
        self.assertLess(body["checks"]["worker"]["last_heartbeat_seconds_ago"], 60)

    @override_settings(WORKER_HEARTBEAT_STALE_SECONDS=120)
    def test_a_stale_heartbeat_is_degraded_but_still_serving(self) -> None:
        WorkerHeartbeat.objects.create(worker_id="w1", at=timezone.now() - timedelta(minutes=10))
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "degraded")
        self.assertFalse(response.json()["checks"]["worker"]["ok"])

    def test_no_worker_ever_seen_is_degraded(self) -> None:
        response = self.client.get("/healthz")
        self.assertEqual(response.json()["status"], "degraded")
        self.assertIsNone(response.json()["checks"]["worker"]["last_heartbeat_seconds_ago"])

    def test_an_unreachable_database_answers_503(self) -> None:
        broken = mock.MagicMock(vendor="postgresql")
        broken.cursor.side_effect = OperationalError("connection refused")
        with mock.patch("katclinic.core.views.connection", broken):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        body = response.json()
        self.assertEqual(body["status"], "down")
        self.assertEqual(body["checks"]["database"], {"ok": False, "error": "OperationalError"})
        self.assertNotIn("connection refused", response.content.decode())

    def test_low_disk_space_is_degraded(self) -> None:
        WorkerHeartbeat.objects.create(worker_id="w1")
        with mock.patch("katclinic.core.views.shutil.disk_usage") as usage:
            usage.return_value = mock.Mock(free=10 * 1024 * 1024)
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "degraded")
        self.assertFalse(response.json()["checks"]["disk"]["ok"])
