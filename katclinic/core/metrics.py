"""Prometheus text format at /metrics, behind METRICS_TOKEN (404 when unset).

The request counters and latency histogram come from `katclinic.core.observability` (all
gunicorn workers together, see there); the gauges below are read from the database at
scrape time and are exact whichever worker answers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.db.models import Count, Max, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from katclinic.core.models import WorkerHeartbeat
from katclinic.core.observability import request_metrics_text
from katclinic.lib.env import envsecret
from katclinic.measures.models import SafetyAlert

# Gauges read from the database at scrape time ----------------------------------------


class StateCollector(Collector):
    """The task queue, the worker's heartbeat and the open safety alerts, as they are now."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        ready = DBTaskResult.objects.ready().aggregate(n=Count("id"), oldest=Min("enqueued_at"))
        oldest = (now - ready["oldest"]).total_seconds() if ready["oldest"] else 0.0
        rows = DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by()
        by_status = dict(rows)
        yield GaugeMetricFamily("katclinic_tasks_ready", "Tasks waiting for a worker.", ready["n"])
        yield GaugeMetricFamily(
            "katclinic_tasks_oldest_ready_age_seconds",
            "How long the oldest waiting task has waited (0 when none).",
            oldest,
        )
        kept = GaugeMetricFamily(
            "katclinic_tasks",
            "Task results kept, by status (FAILED ones need a look).",
            labels=["status"],
        )
        for status in ("READY", "RUNNING", "SUCCESSFUL", "FAILED"):
            kept.add_metric([status], by_status.get(status, 0))
        yield kept
        yield GaugeMetricFamily(
            "katclinic_tasks_failed", "Failed tasks kept.", by_status.get("FAILED", 0)
        )
        beat = WorkerHeartbeat.objects.aggregate(newest=Max("at"))["newest"]
        if beat is not None:
            yield GaugeMetricFamily(
                "katclinic_worker_heartbeat_age_seconds",
                "Seconds since the newest worker heartbeat.",
                (now - beat).total_seconds(),
            )
        yield GaugeMetricFamily(
            "katclinic_safety_alerts_open",
            "Safety alerts not yet closed.",
            SafetyAlert.objects.unhandled().count(),
        )


def render_metrics() -> str:
    state = CollectorRegistry(auto_describe=True)
    state.register(StateCollector())
    return request_metrics_text() + generate_latest(state).decode()


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint: 404 unless METRICS_TOKEN is set, 401 without it."""
    token = envsecret("METRICS_TOKEN")
    if not token:
        raise Http404("metrics are off")
    offered = request.headers.get("Authorization", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return HttpResponse(
            "a bearer token is required\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
