import shutil
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET

from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.core import worklists
from katclinic.core.models import WorkerHeartbeat

# The portal app replaces this with its home page once it exists.
PATIENT_HOME = "/portal/"

MIN_FREE_DISK_BYTES = 500 * 1024 * 1024


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Staff land on their worklist; patients on their portal home."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    if not request.user.is_staff_member:
        return redirect(PATIENT_HOME)
    if getattr(request, "clinic", None) is None:
        return redirect("clinics:choose")
    return redirect("core:worklist")


@staff_view(Perm.VIEW_PATIENT_LIST)
@require_GET
def worklist(request: StaffRequest) -> HttpResponse:
    """What needs this person now; htmx refreshes the sections without a reload."""
    sections = [
        {"section": s, "items": worklists.collect(request, s)}
        for s in worklists.sections_for(request)
    ]
    template = (
        "core/_worklist_sections.html"
        if request.headers.get("HX-Request")
        else "core/worklist.html"
    )
    return render(request, template, {"sections": sections})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own; send them to the clinic's icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, worker heartbeat and disk space; 503 when the database is down."""
    checks: dict[str, dict[str, object]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # the point of a health check is to report, not raise
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    if checks["database"]["ok"]:
        beat = WorkerHeartbeat.objects.order_by("-at").values_list("at", flat=True).first()
        stale = timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
        age = (timezone.now() - beat).total_seconds() if beat else None
        checks["worker"] = {
            "ok": beat is not None and timezone.now() - beat < stale,
            "last_heartbeat_seconds_ago": age,
        }
    free = shutil.disk_usage(settings.DATA_DIR).free
    checks["disk"] = {"ok": free > MIN_FREE_DISK_BYTES, "free_bytes": free}
    status = 200 if checks["database"]["ok"] else 503
    overall = "ok" if all(c["ok"] for c in checks.values()) else "degraded"
    return JsonResponse(
        {"status": overall if status == 200 else "down", "checks": checks}, status=status
    )
