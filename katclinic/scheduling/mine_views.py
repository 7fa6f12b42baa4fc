"""The patient's own booking pages: book a visit the clinic allows online, and move or cancel
one of their own visits while the clinic's cancellation window is open."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import deny
from katclinic.lib.parse import BadParameter, optional_date
from katclinic.patients.models import Patient
from katclinic.portal.views import patient_page
from katclinic.scheduling import selfbook
from katclinic.scheduling.forms import MoveOwnForm, SelfBookForm
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment, Kind

KIND_NAMES = {
    Kind.CONSULTATION: gettext_lazy("Consultation"),
    Kind.SCREENING: gettext_lazy("Screening visit"),
    Kind.PREPARATION: gettext_lazy("Preparation session"),
    Kind.DOSING: gettext_lazy("Treatment session"),
    Kind.INTEGRATION: gettext_lazy("Integration session"),
    Kind.FOLLOW_UP: gettext_lazy("Follow-up visit"),
}


def _viewed(request: HttpRequest, patient: Patient, section: str) -> None:
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": f"portal {section}"},
    )


def _when(patient: Patient, moment: datetime) -> str:
    local = moment.astimezone(clinic_tz(patient.clinic))
    return formats.date_format(local, "l j F Y, H:i")


def _policy(patient: Patient) -> dict[str, Any]:
    clinic = patient.clinic
    return {
        "notice_hours": selfbook.notice_hours(clinic),
        "cancel_hours": selfbook.cancel_hours(clinic),
        "phone": clinic.phone,
    }


def _offer_rows(patient: Patient, offers: list[selfbook.Offer]) -> list[dict[str, Any]]:
    tz = clinic_tz(patient.clinic)
    return [
        {
            "value": o.start.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "label": _when(patient, o.start),
            "with": o.staff.full_name,
        }
        for o in offers
    ]


def _query(request: HttpRequest, kinds: list[str]) -> tuple[str, Any]:
    kind = request.GET.get("kind", "")
    if kind and kind not in kinds:
        raise BadParameter("kind", _("is not a kind of visit you can book online"))
    start_on = optional_date(request.GET.get("from"), "from")
    if start_on is not None and start_on > timezone.localdate() + timedelta(
        days=selfbook.MAX_AHEAD_DAYS
    ):
        raise BadParameter("from", _("must be within the next year"))
    return kind, start_on


@require_http_methods(["GET", "POST"])
@patient_page
def book(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Choose a kind of visit, then one of the open times; booking it emails a confirmation."""
    kinds = selfbook.allowed_kinds(patient.clinic)
    choices = [(k, str(KIND_NAMES[Kind(k)])) for k in kinds]
    form = SelfBookForm(request.POST or None, kinds=choices)
    kind, start_on = _query(request, kinds)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            selfbook.book_own(
                patient=patient, kind=kind, start=form.cleaned_data["start"], request=request
            )
        except selfbook.BookingRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("Your visit is booked. We have sent you a confirmation."))
            return redirect("portal:appointments", patient_id=patient.pk)
    elif request.method == "GET":
        _viewed(request, patient, "booking")
    if form.is_bound:
        kind = kind or str(form.data.get("kind", ""))
    offers = selfbook.offers(patient=patient, kind=kind, start_on=start_on) if kind in kinds else []
    context = {
        "patient": patient,
        "form": form,
        "kinds": choices,
        "kind": kind,
        "kind_name": KIND_NAMES.get(Kind(kind)) if kind in kinds else "",
        "offers": _offer_rows(patient, offers),
        "policy": _policy(patient),
        "from": start_on.isoformat() if start_on else "",
    }
    status = 400 if form.errors else 200
    return render(request, "scheduling/mine_book.html", context, status=status)


def _own_appointment(request: HttpRequest, patient: Patient, appointment_id: int) -> Appointment:
    found = (
        Appointment.objects.filter(pk=appointment_id, patient=patient)
        .select_related("clinic", "staff", "room", "chair")
        .first()
    )
    if found is None:
        deny(request, reason="not this patient's visit", patient_id=patient.pk, not_found=True)
    return found


@require_http_methods(["GET", "POST"])
@patient_page
def change(request: HttpRequest, patient: Patient, appointment_id: int) -> HttpResponse:
    """One of the patient's own visits: move it to another open time, or cancel it."""
    appointment = _own_appointment(request, patient, appointment_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action not in ("", "move", "cancel"):
        raise BadParameter("action", _("must be move or cancel"))
    form = MoveOwnForm(request.POST if action == "move" else None)
    errors: list[str] = []
    if action:
        done = _apply(request, patient, appointment, action, form, errors)
        if done is not None:
            return done
    else:
        _viewed(request, patient, "visit")
    problem = selfbook.change_problem(appointment)
    offers: list[selfbook.Offer] = []
    if problem is None and appointment.kind in selfbook.allowed_kinds(patient.clinic):
        offers = selfbook.offers(
            patient=patient, kind=appointment.kind, start_on=None, exclude=appointment.pk
        )
    context = {
        "patient": patient,
        "appointment": appointment,
        "kind_name": KIND_NAMES.get(Kind(appointment.kind), appointment.kind),
        "when": _when(patient, appointment.start),
        "problem": problem,
        "offers": _offer_rows(patient, offers),
        "form": form,
        "errors": errors,
        "policy": _policy(patient),
    }
    status = 400 if errors or form.errors else 200
    return render(request, "scheduling/mine_change.html", context, status=status)


def _apply(
    request: HttpRequest,
    patient: Patient,
    appointment: Appointment,
    action: str,
    form: MoveOwnForm,
    errors: list[str],
) -> HttpResponse | None:
    """Move or cancel; a redirect when done, else None with `errors` or `form` saying why."""
    try:
        if action == "cancel":
            selfbook.cancel_own(patient=patient, appointment=appointment, request=request)
            messages.success(request, _("Your visit is cancelled."))
        elif form.is_valid():
            selfbook.move_own(
                patient=patient,
                appointment=appointment,
                start=form.cleaned_data["start"],
                request=request,
            )
            messages.success(request, _("Your visit has moved. We have sent you a confirmation."))
        else:
            return None
    except selfbook.BookingRefused as refused:
        if action == "move" and refused.field == "start":
            form.add_error("start", refused.message)
        else:
            errors.append(refused.message)
        return None
    return redirect("portal:appointments", patient_id=patient.pk)
