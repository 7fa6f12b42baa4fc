"""Logs and metrics for operating the clinic's server, free of patient data.

- `JsonFormatter`: one JSON object per log line (LOG_FORMAT=json, the default with DEBUG off).
- `RequestLogMiddleware`: a request id per request (a well-formed incoming X-Request-ID is
  kept, else one is made; echoed in the response), one log line per request naming the
  URL *pattern* (never the concrete path, which carries record ids, nor the query string,
  which can carry names), and the request counters behind /metrics.
- `katclinic.core.metrics`: Prometheus text format at /metrics, behind METRICS_TOKEN (404
  when unset). It is a module of its own because this one is loaded with the settings
  (logging), before the apps and their models are.

Request counters live in each process. Behind gunicorn every worker keeps its own and a
scrape is answered by whichever worker accepts it, so each series carries a `pid` label:
every series is then a proper counter, and `sum(rate(...))` over a few scrapes estimates
the total. The queue, alert and heartbeat gauges are read from the database at scrape
time and are exact whichever worker answers.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import empty

logger = logging.getLogger("katclinic.request")

# Letters, digits and a little punctuation: safe to copy into logs and headers.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "user_id", "clinic_id")
EXPECTED_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line. An exception is logged as its class and stack frames,
    without its message: database errors quote the values they refused."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if "request_id" not in entry and (request_id := current_request_id.get()):
            entry["request_id"] = request_id
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["exception"] = f"{type(error).__module__}.{type(error).__qualname__}"
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(error.__traceback__)
            ]
        return json.dumps(entry, default=str)


class RequestMetrics:
    """Request counters and a latency histogram for this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: defaultdict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            counts = self.buckets.setdefault((method, route), [0] * (len(BUCKETS) + 1))
            counts[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            self.sums[(method, route)] += seconds

    def render(self, pid: str) -> list[str]:
        with self._lock:
            requests = dict(self.requests)
            buckets = {k: list(v) for k, v in self.buckets.items()}
            sums = dict(self.sums)
        lines = [
            "# HELP katclinic_http_requests_total Requests answered by this worker process.",
            "# TYPE katclinic_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(requests.items()):
            labels = _labels(pid=pid, method=method, route=route, status=status)
            lines.append(f"katclinic_http_requests_total{{{labels}}} {n}")
        lines += [
            "# HELP katclinic_http_request_duration_seconds Time to answer, by route.",
            "# TYPE katclinic_http_request_duration_seconds histogram",
        ]
        for (method, route), counts in sorted(buckets.items()):
            base = _labels(pid=pid, method=method, route=route)
            running = 0
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                running += n
                lines.append(
                    f'katclinic_http_request_duration_seconds_bucket{{{base},le="{bound}"}} {running}'
                )
            lines.append(
                f"katclinic_http_request_duration_seconds_sum{{{base}}} {sums[(method, route)]:.6f}"
            )
            lines.append(f"katclinic_http_request_duration_seconds_count{{{base}}} {running}")
        return lines


METRICS = RequestMetrics()
PROCESS_STARTED = time.time()


def _labels(**values: str) -> str:
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{name}="{escape(value)}"' for name, value in values.items())


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered ("patients/<int:patient_id>/"), never the path."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None else "<unmatched>"


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    # A lazy user nobody looked at is left alone: logging must not cost a query.
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


def _clinic_id(request: HttpRequest) -> int | None:
    clinic = getattr(request, "clinic", None)
    return clinic.pk if clinic is not None else None


class RequestLogMiddleware:
    """Request id, one structured log line and the counters for each request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            method = request.method if request.method in METHODS else "OTHER"
            route = route_of(request)
            METRICS.observe(method, route, response.status_code, seconds)
            logger.log(
                logging.ERROR if response.status_code >= 500 else logging.INFO,
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": _user_id(request),
                    "clinic_id": _clinic_id(request),
                },
            )
            response["X-Request-ID"] = request_id
            return response
        finally:
            current_request_id.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Log a view's crash with its stack (Django's own request log is silenced in
        settings because it names the concrete path)."""
        if not isinstance(exception, EXPECTED_ERRORS):
            logger.error(
                "unhandled exception",
                exc_info=(type(exception), exception, exception.__traceback__),
                extra={"route": route_of(request)},
            )
