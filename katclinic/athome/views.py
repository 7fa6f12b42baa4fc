"""Take-home pages: the patient's sessions in the portal, and the staff pages (chart tab,
prescription, dispense, count at a visit, alerts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.athome import prompts, services
from katclinic.athome.access import get_alert_for_staff, get_own_session, get_prescription_for_staff
from katclinic.athome.forms import (
    CheckInForm,
    CloseAlertForm,
    DispenseForm,
    PostCheckInForm,
    PrescriptionForm,
    ReconcileForm,
)
from katclinic.athome.models import HomeAlert, HomeSession, Reconciliation, SessionState
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_edit, get_patient_for_user, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.forms import refuse
from katclinic.measures.alert_steps import AlertError
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs
from katclinic.portal.views import patient_page
from katclinic.protocols.schema import Protocol

# ---- the patient's pages ---------------------------------------------------------------------


@require_GET
@patient_page
def mine(request: HttpRequest, patient: Patient) -> HttpResponse:
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "portal at-home sessions"},
    )
    context = {
        "patient": patient,
        "prescription": services.current_prescription(patient),
        "prescriptions": patient.take_home_prescriptions.all(),
        "sessions": HomeSession.objects.filter(patient=patient).prefetch_related("checkins")[:50],
    }
    return render(request, "athome/mine.html", context)


@require_POST
@patient_page
def start(request: HttpRequest, patient: Patient) -> HttpResponse:
    try:
        session = services.start_session(patient=patient, request=request)
    except services.AtHomeError as error:
        messages.error(request, str(error))
        return redirect("athome:mine", patient_id=patient.pk)
    return redirect("athome:my_session", patient_id=patient.pk, session_id=session.pk)


def _checkin_form(session: HomeSession, data: Any = None) -> CheckInForm:
    protocol = services.protocol_of(session.prescription.plan)
    take_home = services.take_home_of(protocol)
    fasting = protocol.instructions.fasting
    text = (
        f"no food for {fasting.no_food_hours} h, no drinks for {fasting.no_liquids_minutes} min"
        if fasting
        else ""
    )
    return CheckInForm(
        data,
        items=list(take_home.checkin),
        substance_free_hours=take_home.substance_free_hours.value,
        fasting_text=text,
    )


def _post_opens_later(session: HomeSession, protocol: Protocol) -> datetime | None:
    """When the post-session check-in opens, if that is still to come."""
    opens = services.post_checkin_opens_at(session, protocol)
    return opens if opens is not None and timezone.now() < opens else None


def _session_page(
    request: HttpRequest,
    patient: Patient,
    session: HomeSession,
    form: Form | None = None,
    status: int = 200,
) -> HttpResponse:
    protocol = services.protocol_of(session.prescription.plan)
    if form is None and session.state == SessionState.CHECKING_IN:
        form = _checkin_form(session)
    elif form is None and session.state in (SessionState.TAKEN, SessionState.MISSED):
        form = PostCheckInForm(
            bp_required=bool(protocol.take_home and protocol.take_home.bp_after_session)
        )
    timer = [{"minute": p.minute, "text": p.text} for p in prompts.timed_prompts(protocol)]
    context = {
        "patient": patient,
        "session": session,
        "form": form,
        "checkins": session.checkins.all(),
        "limits": services.home_bp_limits(session.clinic, protocol),
        "preparation": prompts.PREPARATION,
        "timer": timer,
        "integration": prompts.integration_prompts(protocol),
        "post": getattr(session, "post_checkin", None),
        "post_opens_at": _post_opens_later(session, protocol),
    }
    return render(request, "athome/session.html", context, status=status)


@require_GET
@patient_page
def my_session(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = get_own_session(request, patient, session_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=session,
        detail={"section": "portal at-home session"},
    )
    return _session_page(request, patient, session)


@require_POST
@patient_page
def checkin(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = get_own_session(request, patient, session_id)
    if session.state != SessionState.CHECKING_IN:
        return redirect("athome:my_session", patient_id=patient.pk, session_id=session.pk)
    form = _checkin_form(session, request.POST)
    if not form.is_valid():
        return _session_page(request, patient, session, form, status=400)
    result = services.submit_checkin(session=session, answers=form.answers(), request=request)
    if result.passed:
        messages.success(request, "Check-in passed: your session is open.")
    else:
        messages.error(
            request, "Check-in did not pass: do not take a dose now. The clinic has been told."
        )
    return redirect("athome:my_session", patient_id=patient.pk, session_id=session.pk)


@require_POST
@patient_page
def taken(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = get_own_session(request, patient, session_id)
    try:
        result = services.mark_taken(session=session, request=request)
    except services.AtHomeError as error:
        messages.error(request, str(error))
    else:
        if result.state == SessionState.EXPIRED:
            messages.error(
                request,
                "Your check-in is too old to take the dose on: do not take it. Begin a new check-in.",
            )
    return redirect("athome:my_session", patient_id=patient.pk, session_id=session.pk)


@require_POST
@patient_page
def after(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = get_own_session(request, patient, session_id)
    protocol = services.protocol_of(session.prescription.plan)
    form = PostCheckInForm(
        request.POST, bp_required=bool(protocol.take_home and protocol.take_home.bp_after_session)
    )
    if form.is_valid():
        try:
            services.submit_post_checkin(session=session, answers=form.answers(), request=request)
        except services.AtHomeError as error:
            refuse(form, error)
        else:
            messages.success(request, "Thank you: your post-session check-in reached the clinic.")
            return redirect("athome:my_session", patient_id=patient.pk, session_id=session.pk)
    return _session_page(request, patient, session, form, status=400)


# ---- staff pages -----------------------------------------------------------------------------


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def patient(request: StaffRequest, patient_id: int) -> HttpResponse:
    """The chart tab: prescriptions, dispenses, sessions with each check-in item, counts, alerts."""
    found = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record_view(request, patient_id=found.pk, obj=found, section="at-home")
    prescriptions = found.take_home_prescriptions.prefetch_related("dispenses").select_related(
        "signed_by", "pdmp_checked_by"
    )
    context = {
        "patient": found,
        "tabs": chart_tabs(request, found, "athome"),
        "prescriptions": prescriptions,
        "sessions": HomeSession.objects.for_clinic(request.clinic)
        .filter(patient=found)
        .prefetch_related("checkins", "alerts")
        .select_related("post_checkin")[:100],
        "counts": Reconciliation.objects.filter(
            clinic=request.clinic, patient=found
        ).select_related("counted_by")[:20],
        "current": services.current_prescription(found),
    }
    return render(request, "athome/patient.html", context)


@staff_view(Perm.PRESCRIBE_TAKE_HOME)
@require_http_methods(["GET", "POST"])
def prescribe(request: StaffRequest, patient_id: int) -> HttpResponse:
    found = get_patient_for_edit(request, patient_id, Perm.PRESCRIBE_TAKE_HOME)
    plans = services.take_home_plans(found)
    form = PrescriptionForm(request.POST or None, plans=plans)
    if request.method == "POST" and form.is_valid():
        try:
            services.prescribe(
                patient=found, data=form.data_input(), by=request.user, request=request
            )
        except services.AtHomeError as error:
            refuse(form, error)
        else:
            messages.success(request, "Take-home prescription signed.")
            return redirect("athome:patient", patient_id=found.pk)
    context = {
        "patient": found,
        "form": form,
        "plans": plans,
        "tabs": chart_tabs(request, found, "athome"),
    }
    return render(request, "athome/prescribe.html", context, status=400 if form.errors else 200)


@staff_view(Perm.RUN_SESSION)
@require_http_methods(["GET", "POST"])
def dispense(request: StaffRequest, prescription_id: int) -> HttpResponse:
    prescription = get_prescription_for_staff(request, prescription_id)
    form = DispenseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_dispense(
                prescription=prescription, by=request.user, request=request, **form.cleaned_data
            )
        except services.AtHomeError as error:
            refuse(form, error)
        else:
            messages.success(request, "Dispense recorded.")
            return redirect("athome:patient", patient_id=prescription.patient_id)
    context = {
        "patient": prescription.patient,
        "prescription": prescription,
        "form": form,
        "tabs": chart_tabs(request, prescription.patient, "athome"),
    }
    return render(request, "athome/dispense.html", context, status=400 if form.errors else 200)


@staff_view(Perm.RUN_SESSION)
@require_http_methods(["GET", "POST"])
def reconcile(request: StaffRequest, prescription_id: int) -> HttpResponse:
    """The count at a visit: the expected number is shown so the nurse can explain a gap."""
    prescription = get_prescription_for_staff(request, prescription_id)
    form = ReconcileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count, mismatch = services.reconcile(
                prescription=prescription, by=request.user, request=request, **form.cleaned_data
            )
        except services.AtHomeError as error:
            refuse(form, error)
        else:
            if mismatch:
                messages.warning(
                    request,
                    f"Count off by {count.discrepancy}: a review task was opened for the prescriber.",
                )
            else:
                messages.success(request, "Count reconciled.")
            return redirect("athome:patient", patient_id=prescription.patient_id)
    context = {
        "patient": prescription.patient,
        "prescription": prescription,
        "form": form,
        "dispensed": services.dispensed_total(prescription),
        "logged": services.sessions_logged(prescription),
        "expected": services.lozenges_on_hand(prescription),
        "tabs": chart_tabs(request, prescription.patient, "athome"),
    }
    return render(request, "athome/reconcile.html", context, status=400 if form.errors else 200)


@staff_view(Perm.HANDLE_ALERTS)
@require_GET
def alerts(request: StaffRequest) -> HttpResponse:
    rows = HomeAlert.objects.for_clinic(request.clinic).select_related(
        "patient", "acknowledged_by", "closed_by"
    )
    context = {
        "open": rows.unresolved().order_by("raised_at"),
        "closed": rows.filter(state="closed")[:30],
        "form": CloseAlertForm(),
    }
    return render(request, "athome/alerts.html", context)


@staff_view(Perm.HANDLE_ALERTS)
@require_POST
def alert_ack(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = get_alert_for_staff(request, alert_id)
    try:
        services.acknowledge_alert(alert=alert, by=request.user, request=request)
    except AlertError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Alert acknowledged.")
    return redirect("athome:alerts")


@staff_view(Perm.HANDLE_ALERTS)
@require_POST
def alert_close(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = get_alert_for_staff(request, alert_id)
    form = CloseAlertForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.close_alert(alert=alert, note=note, by=request.user, request=request)
    except AlertError as error:
        messages.error(request, f"{error.field}: {error}")
    else:
        messages.success(request, "Alert closed.")
    return redirect("athome:alerts")
