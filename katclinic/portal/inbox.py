"""One inbox for everything people ask the clinic for.

Three kinds of request arrive in different places: consultation requests from the public
form (intake), visit requests from the public booking page (scheduling), and patients'
requests to move or cancel a visit (portal). Front desk works them from one page, with a
filter by kind and by whether they are still waiting; each row opens where it is handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import segno
from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from katclinic.audit import services as audit
from katclinic.clinics.access import has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.intake.models import ConsultationRequest, RequestState
from katclinic.portal.models import AppointmentRequest as PatientRequest
from katclinic.portal.models import RequestStatus
from katclinic.scheduling.models import AppointmentRequest as BookingRequest

# How many of each kind one page shows; older ones are reached through each kind's own list.
PER_KIND = 100

KINDS = [
    ("", "All requests"),
    ("consultation", "Consultation requests"),
    ("booking", "Visit requests from the public page"),
    ("patient", "Patients asking to move or cancel"),
]


class InboxFilter(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=KINDS, required=False)
    state = forms.ChoiceField(
        label="Show",
        choices=[("waiting", "Waiting"), ("all", "Waiting and handled")],
        required=False,
    )


@dataclass(frozen=True)
class Row:
    kind: str
    kind_label: str
    received: datetime
    who: str
    summary: str
    url: str
    waiting: bool
    urgent: bool = False
    patient_id: int | None = None


def _consultations(request: StaffRequest, waiting_only: bool) -> list[Row]:
    rows = ConsultationRequest.objects.for_clinic(request.clinic)
    if waiting_only:
        rows = rows.exclude(state__in=[RequestState.DECLINED, RequestState.CONVERTED])
    return [
        Row(
            kind="consultation",
            kind_label="Consultation",
            received=r.submitted_at,
            who=r.name,
            summary=r.get_state_display(),
            url=reverse("intake:request_detail", args=[r.pk]),
            waiting=r.state not in (RequestState.DECLINED, RequestState.CONVERTED),
            urgent=r.urgent,
            patient_id=r.patient_id,
        )
        for r in rows.inbox_order()[:PER_KIND]
    ]


def _bookings(request: StaffRequest, waiting_only: bool) -> list[Row]:
    rows = BookingRequest.objects.filter(clinic=request.clinic)
    if waiting_only:
        rows = rows.filter(handled_at__isnull=True)
    return [
        Row(
            kind="booking",
            kind_label="Visit request",
            received=r.created_at,
            who=r.name,
            summary=f"Would like: {r.preferred_times}",
            url=reverse("scheduling:requests"),
            waiting=r.handled_at is None,
        )
        for r in rows.order_by("created_at")[:PER_KIND]
    ]


def _patient_requests(request: StaffRequest, waiting_only: bool) -> list[Row]:
    rows = PatientRequest.objects.for_clinic(request.clinic).select_related("patient")
    if waiting_only:
        rows = rows.open()
    return [
        Row(
            kind="patient",
            kind_label=r.get_kind_display(),
            received=r.created_at,
            who=r.patient.full_name,
            summary=r.preferred_times or r.message[:120],
            url=reverse("portal:requests"),
            waiting=r.status == RequestStatus.OPEN,
            patient_id=r.patient_id,
        )
        for r in rows.order_by("created_at")[:PER_KIND]
    ]


def public_form_url(request: StaffRequest) -> str:
    return request.build_absolute_uri(reverse("intake:public", args=[request.clinic.slug]))


@staff_view(Perm.SCHEDULE)
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    form = InboxFilter(request.GET)
    if not form.is_valid():
        context = {"form": form, "rows": [], "public_url": public_form_url(request)}
        return render(request, "portal/inbox.html", context, status=400)
    kind = form.cleaned_data["kind"]
    waiting_only = form.cleaned_data["state"] != "all"
    rows: list[Row] = []
    # Consultation requests carry screening answers: only those who triage them see them.
    if kind in ("", "consultation") and has_perm(request, Perm.MANAGE_REQUESTS):
        rows += _consultations(request, waiting_only)
    if kind in ("", "booking"):
        rows += _bookings(request, waiting_only)
    if kind in ("", "patient"):
        rows += _patient_requests(request, waiting_only)
    rows.sort(key=lambda r: (not r.urgent, not r.waiting, r.received))
    audit.record_list(
        request=request, patient_ids=[r.patient_id for r in rows], what="request inbox"
    )
    public_url = public_form_url(request)
    context = {
        "form": form,
        "rows": rows,
        "public_url": public_url,
        "public_qr": segno.make(public_url).svg_data_uri(scale=4),
        "can_triage": has_perm(request, Perm.MANAGE_REQUESTS),
    }
    return render(request, "portal/inbox.html", context)
