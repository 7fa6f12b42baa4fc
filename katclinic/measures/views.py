"""Staff pages: the Measures chart tab, entering and sending instruments, alerts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    deny,
    get_in_clinic,
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.measures import safety, services
from katclinic.measures.catalogue import current_definitions, definition_of
from katclinic.measures.charting import chart_context, response_row
from katclinic.measures.forms import (
    CloseAlertForm,
    CourseForm,
    EndCourseForm,
    InviteForm,
    KioskForm,
    ScheduleForm,
    answers_from_post,
    errors_by_item,
    question_rows,
)
from katclinic.measures.models import AlertState, Course, Response, Rule, SafetyAlert
from katclinic.measures.patient_views import KIOSK_SESSION_KEY
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs


def _choices(
    request: StaffRequest, kind: str | None = None, defs: Any = None
) -> list[tuple[str, str]]:
    defs = defs if defs is not None else current_definitions(request.clinic)
    return [(key, row.title) for key, (row, d) in defs.items() if kind is None or d.kind == kind]


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def chart(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="measures")
    defs = current_definitions(request.clinic)
    context: dict[str, Any] = chart_context(patient)
    context |= {
        "patient": patient,
        "tabs": chart_tabs(request, patient, "measures"),
        "can_enter": has_perm(request, Perm.ENTER_MEASURES),
        "self_report": _choices(request, "self_report", defs),
        "clinician": _choices(request, "clinician", defs),
        "rules": Rule.choices,
    }
    return render(request, "measures/chart.html", context)


@staff_view(Perm.ENTER_MEASURES)
@require_http_methods(["GET", "POST"])
def enter(request: StaffRequest, patient_id: int, key: str) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    found = current_definitions(request.clinic).get(key)
    if found is None:
        raise Http404("No such instrument")
    definition = found[1]
    errors: dict[str, str] = {}
    answers: dict[str, Any] = {}
    if request.method == "POST":
        answers, problems = answers_from_post(definition, request.POST)
        if not problems:
            try:
                services.submit_response(
                    patient=patient,
                    instrument_key=key,
                    answers=answers,
                    source="staff",
                    submitted_by=request.user,
                    request=request,
                    comment=request.POST.get("comment", ""),
                )
            except services.SubmissionError as exc:
                problems = exc.errors
            else:
                messages.success(request, f"{definition.title} saved.")
                return redirect("measures:chart", patient.pk)
        errors = errors_by_item(problems)
    context = {
        "patient": patient,
        "definition": definition,
        "errors": errors,
        "questions": question_rows(definition, answers, errors),
        "tabs": chart_tabs(request, patient, "measures"),
    }
    return render(request, "measures/enter.html", context, status=400 if errors else 200)


@staff_view(Perm.ENTER_MEASURES)
@require_http_methods(["GET", "POST"])
def correct(request: StaffRequest, response_id: int) -> HttpResponse:
    """Correct an entry error: a new version is stored and the old one is kept, linked."""
    related = Response.objects.select_related("instrument", "patient")
    original = get_in_clinic(request, related, response_id, what="response")
    patient = get_patient_for_edit(request, original.patient_id, Perm.ENTER_MEASURES)
    definition = definition_of(original.instrument)
    errors: dict[str, str] = {}
    answers: dict[str, Any] = dict(original.answers)
    reason = ""
    if not original.is_current:
        errors["response"] = "This response was already corrected; correct the newest version."
    elif request.method == "POST":
        answers, problems = answers_from_post(definition, request.POST)
        reason = request.POST.get("reason", "").strip()
        if not problems:
            try:
                services.correct_response(
                    response=original,
                    answers=answers,
                    reason=reason,
                    by=request.user,
                    request=request,
                    comment=request.POST.get("comment", original.comment),
                )
            except services.SubmissionError as exc:
                problems = exc.errors
            else:
                messages.success(
                    request, f"{definition.title} corrected; the earlier version is kept."
                )
                return redirect("measures:chart", patient.pk)
        errors = errors_by_item(problems)
    context = {
        "patient": patient,
        "definition": definition,
        "errors": errors,
        "original": original,
        "reason": reason,
        "questions": question_rows(definition, answers, errors),
        "tabs": chart_tabs(request, patient, "measures"),
    }
    return render(request, "measures/correct.html", context, status=400 if errors else 200)


@staff_view(Perm.ENTER_MEASURES)
@require_POST
def course_end(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    form = EndCourseForm(request.POST)
    course = Course.objects.open().filter(patient=patient).first()
    if course is None:
        form.add_error(None, "This patient has no open course to end.")
    elif form.is_valid():
        try:
            services.end_course(
                course=course,
                ended_on=form.cleaned_data["ended_on"],
                by=request.user,
                request=request,
            )
        except services.SubmissionError as exc:
            form.add_error("ended_on", exc.errors[0].message)
        else:
            messages.success(request, "Course ended.")
            return redirect("measures:chart", patient.pk)
    return _bad_form(request, patient, form)


def _bad_form(request: StaffRequest, patient: Patient, form: Any) -> HttpResponse:
    context = {"patient": patient, "form": form, "tabs": chart_tabs(request, patient, "measures")}
    return render(request, "measures/form_errors.html", context, status=400)


@staff_view(Perm.ENTER_MEASURES)
@require_POST
def invite(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    form = InviteForm(request.POST, instruments=_choices(request, "self_report"))
    if not form.is_valid():
        return _bad_form(request, patient, form)
    invitation = services.invite(
        patient=patient,
        instrument_key=form.cleaned_data["instrument"],
        by=request.user,
        request=request,
        channel=form.cleaned_data["channel"],
        purpose="Sent by staff",
    )
    sent = "emailed" if invitation.sent_at else "available in the portal"
    messages.success(request, f"Questionnaire {sent}.")
    return redirect("measures:chart", patient.pk)


@staff_view(Perm.ENTER_MEASURES)
@require_POST
def kiosk_start(request: StaffRequest, patient_id: int) -> HttpResponse:
    """Hand the tablet over: the staff session ends and the tablet can show one questionnaire."""
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    form = KioskForm(request.POST, instruments=_choices(request, "self_report"))
    if not form.is_valid():
        return _bad_form(request, patient, form)
    _, raw = services.start_kiosk(
        patient=patient,
        instrument_key=form.cleaned_data["instrument"],
        by=request.user,
        request=request,
    )
    logout(request)
    request.session[KIOSK_SESSION_KEY] = raw
    return redirect("measures:kiosk")


@staff_view(Perm.ENTER_MEASURES)
@require_POST
def schedule(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    form = ScheduleForm(request.POST, instruments=_choices(request, "self_report"))
    if not form.is_valid():
        return _bad_form(request, patient, form)
    services.set_schedule(
        patient=patient,
        instrument_key=form.cleaned_data["instrument"],
        rules=form.cleaned_data["rules"],
        by=request.user,
        request=request,
    )
    messages.success(request, "Schedule saved.")
    return redirect("measures:chart", patient.pk)


@staff_view(Perm.ENTER_MEASURES)
@require_POST
def course_start(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)
    form = CourseForm(request.POST)
    if form.is_valid():
        try:
            services.start_course(
                patient=patient,
                started_on=form.cleaned_data["started_on"],
                by=request.user,
                request=request,
            )
        except services.SubmissionError as exc:
            form.add_error("started_on", exc.errors[0].message)
        else:
            messages.success(request, "Course started.")
            return redirect("measures:chart", patient.pk)
    return _bad_form(request, patient, form)


# --------------------------------------------------------------------------- alerts


def _alert_for_user(request: StaffRequest, alert_id: int) -> SafetyAlert:
    related = SafetyAlert.objects.select_related("patient", "response")
    return get_in_clinic(request, related, alert_id, what="alert")


@staff_view(Perm.HANDLE_ALERTS)
@require_GET
def alert_list(request: StaffRequest) -> HttpResponse:
    alerts = (
        SafetyAlert.objects.for_clinic(request.clinic)
        .select_related("patient", "assigned_to")
        .order_by("state" if request.GET.get("all") else "-raised_at", "-raised_at")
    )
    if not request.GET.get("all"):
        alerts = alerts.unhandled()
    return render(
        request,
        "measures/alert_list.html",
        {"alerts": alerts[:200], "all": bool(request.GET.get("all"))},
    )


@staff_view(Perm.HANDLE_ALERTS)
@require_GET
def alert_detail(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_user(request, alert_id)
    audit.record(request=request, action=Action.VIEW, patient_id=alert.patient_id, obj=alert)
    return render(
        request,
        "measures/alert_detail.html",
        {
            "alert": alert,
            "form": CloseAlertForm(),
            "crisis": alert.patient.clinic.crisis_resources,
            "row": response_row(alert.response) if alert.response else None,
        },
    )


@staff_view(Perm.HANDLE_ALERTS)
@require_POST
def alert_ack(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_user(request, alert_id)
    try:
        safety.acknowledge_alert(alert=alert, by=request.user, request=request)
    except safety.AlertError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Alert acknowledged. Close it once you have acted.")
    return redirect("measures:alert_detail", alert.pk)


@staff_view(Perm.HANDLE_ALERTS)
@require_POST
def alert_close(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for_user(request, alert_id)
    form = CloseAlertForm(request.POST)
    if form.is_valid():
        try:
            safety.close_alert(alert=alert, by=request.user, request=request, **form.cleaned_data)
        except safety.AlertError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Alert closed.")
            return redirect("measures:alert_detail", alert.pk)
    context = {"alert": alert, "form": form, "crisis": alert.patient.clinic.crisis_resources}
    return render(request, "measures/alert_detail.html", context, status=400)


@require_GET
def alert_banner(request: HttpRequest) -> HttpResponse:
    """The unhandled-alert banner every staff page of the clinic loads (htmx)."""
    user = request.user
    clinic = getattr(request, "clinic", None)
    if not user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    if not user.is_staff_member or clinic is None:
        deny(request, reason="staff page")
    alerts = (
        SafetyAlert.objects.for_clinic(clinic)
        .unhandled()
        .select_related("patient")
        .order_by("raised_at")
    )
    show_names = has_perm(request, Perm.HANDLE_ALERTS)
    items = list(alerts[:10]) if show_names else []
    count = alerts.count() if not show_names else len(items)
    context = {"alerts": items, "count": count, "show_names": show_names, "open": AlertState.OPEN}
    return render(request, "measures/_alert_banner.html", context)
