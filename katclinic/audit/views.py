import functools
from datetime import datetime, time, timedelta

from django.apps import apps as django_apps
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from katclinic.audit.forms import AuditFilterForm
from katclinic.audit.models import AuditEvent
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.patients.models import Patient


@staff_view(Perm.VIEW_AUDIT)
def event_list(request: StaffRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.for_clinic(request.clinic.pk).order_by("-at", "-id")
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        if data["patient"]:
            events = events.filter(patient_id=data["patient"])
        if data["user"]:
            events = events.filter(actor__iexact=data["user"].strip())
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tz))
        if data["date_to"]:
            events = events.filter(
                at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tz)
            )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    rows = _described(request, list(page))
    status = 400 if form.errors else 200
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
        status=status,
    )


@functools.cache
def _object_names() -> dict[str, str]:
    """Each stored object type ("patients.patient") in words ("patient"); the models do not
    change while the process runs, so this is built once."""
    names = {m._meta.label_lower: str(m._meta.verbose_name) for m in django_apps.get_models()}
    names.update(OTHER_OBJECTS)
    return names


# Object types that are not one model: pages, reports and exports.
OTHER_OBJECTS = {
    "account": "account",
    "list": "list of patients",
    "url": "page",
    "clinic": "clinic",
    "clinic.setting": "clinic setting",
    "outcomes.research": "research export",
    "outcomes.dashboard": "outcomes dashboard",
    "dosing.inventory_report": "controlled-substance report",
}


def _described(request: StaffRequest, events: list[AuditEvent]) -> list[dict[str, object]]:
    """Each event with its patient's name and its object in words, for one page of events.

    The audit page is for those who may see the clinic's patient list, so names are shown;
    a patient of another clinic (never expected in this clinic's chain) shows as a number.
    """
    ids = {e.patient_id for e in events if e.patient_id}
    names = {
        p.pk: f"{p.last_name}, {p.first_name} ({p.mrn})"
        for p in Patient.objects.for_clinic(request.clinic)
        .filter(pk__in=ids)
        .only("pk", "first_name", "last_name", "mrn")
    }
    words = _object_names()
    rows = []
    for e in events:
        kind = words.get(e.object_type, e.object_type.rsplit(".", 1)[-1].replace("_", " "))
        if e.object_type.startswith("fhir."):
            kind = f"FHIR {e.object_type.removeprefix('fhir.')}"
        rows.append(
            {
                "event": e,
                "patient": names.get(e.patient_id or 0, f"Record {e.patient_id}"),
                "object": f"{kind} {e.object_id}".strip() if kind else "—",
            }
        )
    return rows
