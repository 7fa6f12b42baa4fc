"""The Prometheus scrape endpoint at /metrics: the request counters kept by
`katclinic.core.observability`, and gauges read from the database at scrape time."""

from __future__ import annotations

import hmac
import os

from django.db.models import Count, Max, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult

from katclinic.core import observability
from katclinic.core.models import WorkerHeartbeat
from katclinic.lib.env import envsecret
from katclinic.measures.models import SafetyAlert

# Gauges read from the database at scrape time ----------------------------------------


def _gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]


def task_gauges() -> list[str]:
    now = timezone.now()
    ready = DBTaskResult.objects.ready().aggregate(n=Count("id"), oldest=Min("enqueued_at"))
    oldest = (now - ready["oldest"]).total_seconds() if ready["oldest"] else 0.0
    by_status = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())
    lines = _gauge("katclinic_tasks_ready", "Tasks waiting for a worker.", ready["n"])
    lines += _gauge(
        "katclinic_tasks_oldest_ready_age_seconds",
        "How long the oldest waiting task has waited (0 when none).",
        oldest,
    )
    lines += [
        "# HELP katclinic_tasks Task results kept, by status (FAILED ones need a look).",
        "# TYPE katclinic_tasks gauge",
    ]
    for status in ("READY", "RUNNING", "SUCCESSFUL", "FAILED"):
        lines.append(f'katclinic_tasks{{status="{status}"}} {by_status.get(status, 0)}')
    lines += _gauge("katclinic_tasks_failed", "Failed tasks kept.", by_status.get("FAILED", 0))
    return lines


def state_gauges() -> list[str]:
    lines = task_gauges()
    beat = WorkerHeartbeat.objects.aggregate(newest=Max("at"))["newest"]
    if beat is not None:
        lines += _gauge(
            "katclinic_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat.",
            (timezone.now() - beat).total_seconds(),
        )
    alerts = SafetyAlert.objects.unhandled().count()
    lines += _gauge("katclinic_safety_alerts_open", "Safety alerts not yet closed.", alerts)
    return lines


def render_metrics() -> str:
    pid = str(os.getpid())
    lines = observability.METRICS.render(pid)
    lines += [
        "# HELP katclinic_process_start_time_seconds When this worker process started.",
        "# TYPE katclinic_process_start_time_seconds gauge",
        f'katclinic_process_start_time_seconds{{pid="{pid}"}} {observability.PROCESS_STARTED:.3f}',
    ]
    lines += state_gauges()
    return "\n".join(lines) + "\n"


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
    return HttpResponse(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
