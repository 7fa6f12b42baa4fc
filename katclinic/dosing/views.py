"""Staff pages for dosing sessions: the chart tab, the session page and its actions.

Every action posts one form to one service. A refused form or a refusal by the session rules
re-renders the session page with status 400 and the reason; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.forms import BaseForm, Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.dosing import forms as f
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.access import get_alert, get_gate_check, get_session_for_user
from katclinic.dosing.models import DosingSession, InSessionAlert
from katclinic.dosing.services import DosingError
from katclinic.dosing.statemachine import SessionState, allowed_targets
from katclinic.patients.views import chart_tabs

S = SessionState


@staff_view(Perm.VIEW_CLINICAL)
def patient_sessions(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    sessions = DosingSession.objects.filter(patient=patient, clinic=request.clinic).select_related(
        "plan__protocol_version"
    )
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "sessions"},
    )
    return render(
        request,
        "dosing/patient_sessions.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "sessions"),
            "sessions": sessions,
            "can_run": has_perm(request, Perm.RUN_SESSION),
        },
    )


@staff_view(Perm.RUN_SESSION)
@require_http_methods(["GET", "POST"])
def create_session(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.RUN_SESSION)
    form = f.SessionForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.create_session(
                patient=patient,
                plan=data["plan"],
                chair=data["chair"],
                scheduled_for=data["scheduled_for"],
                appointment=data["appointment"],
                by=request.user,
                request=request,
            )
        except DosingError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("dosing:session", session.pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "dosing/form.html",
        {"form": form, "patient": patient, "title": "Book a dosing session"},
        status=status,
    )


def _chart_points(session: DosingSession) -> list[dict[str, Any]]:
    start = session.dose_started_at or session.scheduled_for
    return [
        {
            "minute": round((c.taken_at - start).total_seconds() / 60, 1),
            "systolic": c.systolic,
            "diastolic": c.diastolic,
            "heart_rate": c.heart_rate,
            "spo2": c.spo2,
        }
        for c in session.checkpoints.all()
        if c.systolic or c.heart_rate or c.spo2
    ]


def _labels(session: DosingSession) -> list[str]:
    return [c.label for c in services.protocol_of(session).monitoring.checkpoints]


def _forms(
    request: StaffRequest, session: DosingSession, bound: dict[str, BaseForm]
) -> dict[str, BaseForm]:
    recheck = mon.pending_rechecks(session)
    unbound: dict[str, BaseForm] = {
        "transition_form": f.TransitionForm(),
        "pre_dose_form": f.PreDoseForm(initial={"pregnancy_status": session.pregnancy_status}),
        "override_form": f.OverrideForm(),
        "administration_form": f.AdministrationForm(clinic=request.clinic),
        "adjunct_form": f.AdjunctForm(),
        "ack_form": f.AcknowledgeForm(),
        "checkpoint_form": f.CheckpointForm(
            labels=_labels(session),
            initial={
                "recheck_of": recheck[0].pk if recheck else None,
                "label": "recheck" if recheck else "",
            },
        ),
        "side_effect_form": f.SideEffectForm(),
        "discharge_form": f.DischargeForm(),
    }
    return unbound | bound


def _page(
    request: StaffRequest,
    session: DosingSession,
    *,
    status: int = 200,
    error: str = "",
    bound: dict[str, BaseForm] | None = None,
) -> HttpResponse:
    now = timezone.now()
    protocol = services.protocol_of(session)
    context = {
        "session": session,
        "patient": session.patient,
        "protocol": protocol,
        "error": error,
        "tabs": chart_tabs(request, session.patient, "sessions"),
        "events": session.events.select_related("by"),
        "gate": services.latest_gate(session),
        "administrations": session.administrations.select_related("given_by"),
        "checkpoints": session.checkpoints.prefetch_related("alerts"),
        "alerts": session.alerts.select_related("acknowledged_by", "checkpoint"),
        "rechecks": mon.pending_rechecks(session),
        "flowsheet": mon.flowsheet(session, now),
        "side_effects": session.side_effects.all(),
        "assessments": session.discharge_assessments.all(),
        "notes": session.support_notes.select_related("author").prefetch_related("addenda"),
        "targets": {t.value for t in allowed_targets(session.state)},
        "now": now,
        "chart": _chart_points(session),
        "rems_form": getattr(session, "rems_form", None),
        "can_run": has_perm(request, Perm.RUN_SESSION),
        "can_override": has_perm(request, Perm.OVERRIDE_SOFT_STOP),
        "can_note": has_perm(request, Perm.WRITE_SUPPORT_NOTE),
    } | _forms(request, session, bound or {})
    return render(request, "dosing/session.html", context, status=status)


@staff_view(Perm.VIEW_CLINICAL)
def session_detail(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id)
    audit.record(request=request, action=Action.VIEW, patient_id=session.patient_id, obj=session)
    return _page(request, session)


def _act(
    request: StaffRequest, session: DosingSession, name: str, form: BaseForm, call: Any
) -> HttpResponse:
    """Validate `form`, call the service with its data, and answer as every action does."""
    if not form.is_valid():
        return _page(
            request, session, status=400, bound={name: form}, error="Please correct the form below."
        )
    try:
        call(form.cleaned_data)
    except DosingError as exc:
        error = f.attach_field_error(form, str(exc))
        return _page(request, session, status=400, bound={name: form}, error=error)
    return redirect("dosing:session", session.pk)


@staff_view(Perm.RUN_SESSION)
@require_POST
def transition(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "transition_form",
        f.TransitionForm(request.POST),
        lambda d: services.transition(
            session=session, to=S(d["to"]), reason=d["reason"], by=request.user, request=request
        ),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def pre_dose(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)

    def call(d: dict[str, Any]) -> None:
        vitals = {k: d.pop(k) for k in ("systolic", "diastolic", "heart_rate", "spo2")}
        services.record_pre_dose(
            session=session, vitals=vitals, by=request.user, request=request, **d
        )

    return _act(request, session, "pre_dose_form", f.PreDoseForm(request.POST), call)


@staff_view(Perm.OVERRIDE_SOFT_STOP)
@require_POST
def override(request: StaffRequest, check_id: int) -> HttpResponse:
    check = get_gate_check(request, check_id)
    session = get_session_for_user(request, check.session_id, Perm.OVERRIDE_SOFT_STOP)
    return _act(
        request,
        session,
        "override_form",
        f.OverrideForm(request.POST),
        lambda d: services.override_soft_stop(
            check=check, reason=d["reason"], by=request.user, request=request
        ),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def start_dosing(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "transition_form",
        Form({}),
        lambda d: services.start_dosing(session=session, by=request.user, request=request),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def administer(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    form = f.AdministrationForm(request.POST, clinic=request.clinic)
    return _act(
        request,
        session,
        "administration_form",
        form,
        lambda d: services.record_administration(
            session=session, by=request.user, request=request, **d
        ),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def adjunct(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "adjunct_form",
        f.AdjunctForm(request.POST),
        lambda d: services.record_adjunct(session=session, by=request.user, request=request, **d),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def finish_dosing(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "transition_form",
        Form({}),
        lambda d: services.finish_dosing(session=session, by=request.user, request=request),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def checkpoint(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)

    def call(d: dict[str, Any]) -> None:
        alert_id = d.pop("recheck_of")
        alert = (
            InSessionAlert.objects.filter(pk=alert_id, session=session).first()
            if alert_id
            else None
        )
        if alert_id and alert is None:
            raise DosingError("recheck_of: there is no such alert in this session.")
        label, taken_at = d.pop("label"), d.pop("taken_at")
        _, raised = mon.record_checkpoint(
            session=session,
            label=label,
            taken_at=taken_at,
            values=d,
            recheck_of=alert,
            by=request.user,
            request=request,
        )
        for found in raised:
            messages.warning(request, f"{found.measure} {found.value}: {found.action}")

    return _act(
        request,
        session,
        "checkpoint_form",
        f.CheckpointForm(request.POST, labels=_labels(session)),
        call,
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def acknowledge(request: StaffRequest, alert_id: int) -> HttpResponse:
    alert = get_alert(request, alert_id)
    session = get_session_for_user(request, alert.session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "ack_form",
        f.AcknowledgeForm(request.POST),
        lambda d: mon.acknowledge_alert(
            alert=alert, note=d["note"], by=request.user, request=request
        ),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def side_effect(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "side_effect_form",
        f.SideEffectForm(request.POST),
        lambda d: mon.record_side_effect(session=session, data=d, by=request.user, request=request),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def assess_discharge(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "discharge_form",
        f.DischargeForm(request.POST),
        lambda d: mon.assess_discharge(session=session, judged=d, by=request.user, request=request),
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def discharge(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _act(
        request,
        session,
        "discharge_form",
        Form({}),
        lambda d: mon.discharge(session=session, by=request.user, request=request),
    )
