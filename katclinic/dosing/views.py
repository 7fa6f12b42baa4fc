"""Staff pages for dosing sessions: the chart tab, the session page and its actions.

Every action posts one form to one service. A refused form or a refusal by the session rules
re-renders the session page with status 400 and the reason; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.forms import BaseForm, Form
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
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
from katclinic.clinics.registry import all_settings
from katclinic.dosing import clinic_settings as dosing_settings
from katclinic.dosing import forms as f
from katclinic.dosing import integrations, services
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.access import (
    get_alert,
    get_gate_check,
    get_session_for_user,
    locked_session_for_user,
)
from katclinic.dosing.models import (
    Administration,
    Checkpoint,
    DischargeAssessment,
    DosingSession,
    InSessionAlert,
    SessionEvent,
    SideEffect,
    SupportNote,
)
from katclinic.dosing.services import DosingError, LockedSession
from katclinic.dosing.statemachine import SessionState, allowed_targets
from katclinic.lib import rows
from katclinic.lib.links import id_url
from katclinic.patients.models import Allergy, Medication, Patient
from katclinic.patients.views import chart_tabs

S = SessionState


@staff_view(Perm.VIEW_CLINICAL)
def patient_sessions(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    # The columns the table shows: not the protocol's document, decoded for every row.
    sessions = list(
        DosingSession.objects.filter(patient=patient, clinic=request.clinic)
        .select_related("plan__protocol_version")
        .only("pk", "scheduled_for", "chair", "state", "plan__protocol_version__title")
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


def _chart_points(session: DosingSession, readings: list[Checkpoint]) -> list[dict[str, Any]]:
    start = session.dose_started_at or session.scheduled_for
    return [
        {
            "minute": round((c.taken_at - start).total_seconds() / 60, 1),
            "systolic": c.systolic,
            "diastolic": c.diastolic,
            "heart_rate": c.heart_rate,
            "spo2": c.spo2,
        }
        for c in readings
        if c.systolic or c.heart_rate or c.spo2
    ]


def _labels(session: DosingSession) -> list[str]:
    return [c.label for c in services.protocol_of(session).monitoring.checkpoints]


def _chair(session: DosingSession) -> str:
    """The chair the booking holds, else the one named when the session was opened."""
    appointment = session.appointment
    if appointment is not None and appointment.chair_id is not None:
        return str(appointment.chair)
    return session.chair


def _dose_summary(session: DosingSession, doses: list[Administration]) -> dict[str, Any]:
    """The plan's dose for this session, what has been given, and what the next entry is."""
    limits = integrations.plan_dose_limits(session.plan)
    protocol = services.protocol_of(session)
    given = sum((a.dose_mg for a in doses if not a.is_adjunct), Decimal(0))
    planned = limits[2] if limits is not None else None
    device_mg = protocol.product.device_mg
    remaining = planned - given if planned is not None else None
    if remaining is not None and remaining <= 0:
        next_mg = None
    elif device_mg is not None:
        next_mg = Decimal(device_mg)
    else:
        next_mg = remaining
    return {
        "planned": planned,
        "given": given,
        "remaining": remaining if remaining is not None and remaining > 0 else Decimal(0),
        "next_mg": next_mg,
        "device_mg": device_mg,
    }


def _next_checkpoint(
    session: DosingSession, flowsheet: list[Any], readings: list[Checkpoint]
) -> dict[str, Any] | None:
    """The checkpoint to take next: the earliest due or overdue, else the next upcoming; before
    the first dose, the protocol's first checkpoint."""
    for wanted in (("overdue", "due"), ("upcoming",)):
        found = [c for c in flowsheet if c.status in wanted]
        if found:
            c = min(found, key=lambda c: c.due_at)
            return {"label": c.label, "due_at": c.due_at, "status": c.status}
    if not flowsheet and session.dose_started_at is None:
        # Before the first dose: the first checkpoint not yet taken, timed from that dose.
        taken = {c.label for c in readings}
        labels = [label for label in _labels(session) if label not in taken] or _labels(session)
        if labels:
            return {"label": labels[0], "due_at": None, "status": "upcoming"}
    return None


# The unbound forms the session page shows, by the states it shows them in (as the
# template's conditions say: only those who may run the session see any of them).
_FORMS_BY_STATE: dict[str, frozenset[SessionState]] = {
    "pre_dose_form": frozenset({S.CHECKED_IN, S.PRE_DOSE_CHECKS}),
    "administration_form": frozenset({S.DOSING}),
    "adjunct_form": frozenset({S.DOSING}),
    "checkpoint_form": frozenset({S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE}),
    "side_effect_form": frozenset({S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE}),
    "discharge_form": frozenset({S.MONITORING, S.READY_FOR_DISCHARGE}),
}


def _checkpoint_form(
    session: DosingSession, next_checkpoint: dict[str, Any] | None, recheck: list[InSessionAlert]
) -> BaseForm:
    now = timezone.localtime()
    if recheck:
        label = "recheck"
    else:
        label = next_checkpoint["label"] if next_checkpoint else ""
    form = f.CheckpointForm(
        labels=_labels(session),
        initial={"recheck_of": recheck[0].pk if recheck else None, "label": label, "taken_at": now},
    )
    offset = now.utcoffset()
    form.fields["taken_at"].widget.attrs["data-clinic-offset"] = str(
        int(offset.total_seconds() // 60) if offset is not None else 0
    )
    return form


class _UnboundMarkup:
    """An unbound form whose markup depends on nothing but the code (no initial values, no
    choices from the database): rendered once per process and language, then reused. The
    template reads it as it reads the form (`{{ form }}`, `form.errors`)."""

    errors: dict[str, list[str]] = {}

    def __init__(self, html: SafeString) -> None:
        self.html = html

    def __html__(self) -> SafeString:
        return self.html

    def __str__(self) -> str:
        return self.html


_MARKUP: dict[tuple[type[BaseForm], str], _UnboundMarkup] = {}


def _static_form(form_class: type[BaseForm]) -> _UnboundMarkup:
    """``form_class()`` rendered, for the side-effect and readiness forms: their fields,
    choices and labels are the code's, so the markup changes only with the language."""
    key = (form_class, translation.get_language())
    found = _MARKUP.get(key)
    if found is None:
        found = _MARKUP[key] = _UnboundMarkup(SafeString(form_class().render()))
    return found


def _forms(
    request: StaffRequest,
    session: DosingSession,
    bound: dict[str, BaseForm],
    *,
    dose: dict[str, Any],
    next_checkpoint: dict[str, Any] | None,
    recheck: list[InSessionAlert],
) -> dict[str, BaseForm | _UnboundMarkup]:
    """The forms the page shows in the session's state, unbound, with any bound one (a
    refused post) in its place; the others are not built."""
    build: dict[str, Callable[[], BaseForm | _UnboundMarkup]] = {
        "pre_dose_form": lambda: f.PreDoseForm(
            initial={"pregnancy_status": session.pregnancy_status}
        ),
        "administration_form": lambda: f.AdministrationForm(
            clinic=request.clinic,
            initial={"dose_mg": dose["next_mg"], "started_at": timezone.localtime()},
        ),
        "adjunct_form": f.AdjunctForm,
        "checkpoint_form": lambda: _checkpoint_form(session, next_checkpoint, recheck),
        "side_effect_form": lambda: _static_form(f.SideEffectForm),
        "discharge_form": lambda: _static_form(f.DischargeForm),
    }
    shown = has_perm(request, Perm.RUN_SESSION)
    state = S(session.state)
    unbound = {
        name: make()
        for name, make in build.items()
        if shown and state in _FORMS_BY_STATE[name] and name not in bound
    }
    return unbound | bound


# The session page's lists, each compiled once per process (see katclinic.lib.rows.Compiled):
# `session.checkpoints.all()` and the like, in the models' own order.
_READINGS = rows.Compiled(
    Checkpoint, lambda session: Checkpoint.objects.filter(session_id=session), "session"
)
_DOSES = rows.Compiled(
    Administration,
    lambda session: Administration.objects.filter(session_id=session).select_related("given_by"),
    "session",
)
_ALERTS = rows.Compiled(
    InSessionAlert,
    lambda session: InSessionAlert.objects.filter(session_id=session).select_related(
        "acknowledged_by"
    ),
    "session",
)
_EVENTS = rows.Compiled(
    SessionEvent,
    lambda session: SessionEvent.objects.filter(session_id=session).select_related("by"),
    "session",
)
_SIDE_EFFECTS = rows.Compiled(
    SideEffect, lambda session: SideEffect.objects.filter(session_id=session), "session"
)
_ASSESSMENTS = rows.Compiled(
    DischargeAssessment,
    lambda session: DischargeAssessment.objects.filter(session_id=session),
    "session",
)
_NOTES = rows.Compiled(
    SupportNote,
    lambda session: SupportNote.objects.filter(session_id=session).select_related("author"),
    "session",
)
_ALLERGIES = rows.Compiled(
    Allergy, lambda patient: Allergy.objects.filter(patient_id=patient, is_active=True), "patient"
)
_MEDICATIONS = rows.Compiled(
    Medication,
    lambda patient: Medication.objects.filter(patient_id=patient, is_active=True),
    "patient",
)


@dataclass(frozen=True)
class _Loaded:
    """The session's readings, doses and alerts, read once before anything uses them: the
    flowsheet, the chart, the dose summary, the rechecks and the page all take these lists."""

    readings: list[Checkpoint]
    doses: list[Administration]
    alerts: list[InSessionAlert]


def _load(session: DosingSession) -> _Loaded:
    return _Loaded(
        _READINGS(session=session.pk), _DOSES(session=session.pk), _ALERTS(session=session.pk)
    )


# The readings table's rows, as the template wrote them (`templates/dosing/session.html` had
# them inline; a test renders that markup and compares): one row per reading, then a row per
# alert it raised.
_READING_ROW = "<tr{}><td>{}</td><td>{}{}</td><td>{}</td>{}</tr>\n  "
_ALERT_ROW = (
    '<tr class="out-of-range"><td></td><td colspan="7"><span class="badge danger">{}</span>'
    " {} {} (limit {}): {}</td></tr>"
)
_OUT_OF_RANGE = mark_safe(' class="out-of-range"')  # noqa: S308 (a constant)
_RECHECK_BADGE = mark_safe(' <span class="badge">recheck</span>')  # noqa: S308 (a constant)


def _cell(value: int | None) -> SafeString:
    return format_html("<td>{}</td>", "" if value is None else localize(value))


def _readings(readings: list[Checkpoint], alerts: list[InSessionAlert]) -> SafeString:
    """The readings table's body: each reading with its alerts, its time and its blanks."""
    by_reading: dict[int, list[InSessionAlert]] = {}
    for alert in alerts:
        by_reading.setdefault(alert.checkpoint_id, []).append(alert)
    html = []
    for c in readings:
        raised = by_reading.get(c.pk, [])
        values = (c.heart_rate, c.spo2, c.respiratory_rate, c.moaas, c.cadss6)
        html.append(
            format_html(
                _READING_ROW,
                _OUT_OF_RANGE if raised else "",
                f"{timezone.localtime(c.taken_at):%H:%M}",
                c.label,
                _RECHECK_BADGE if c.recheck_of_id else "",
                f"{localize(c.systolic)}/{localize(c.diastolic)}" if c.systolic else "",
                SafeString("".join(_cell(v) for v in values)),
            )
        )
        html += [
            format_html(
                _ALERT_ROW,
                a.get_level_display(),
                a.measure,
                localize(a.value),
                localize(a.limit),
                a.action,
            )
            for a in raised
        ]
    return SafeString("".join(html))


def _rows(session: DosingSession, patient: Patient, loaded: _Loaded) -> dict[str, Any]:
    """Every list the page shows, fetched here rather than while the template renders."""
    notes = _NOTES(session=session.pk)
    prefetch_related_objects(notes, "addenda")
    return {
        "events": _EVENTS(session=session.pk),
        "gate": services.latest_gate(session),
        "administrations": loaded.doses,
        "checkpoints": loaded.readings,
        "readings": _readings(loaded.readings, loaded.alerts),
        "alerts": loaded.alerts,
        "allergies": _ALLERGIES(patient=patient.pk),
        "flagged_medications": [m for m in _MEDICATIONS(patient=patient.pk) if m.flags],
        "open_safety_alerts": integrations.open_safety_alerts(patient).items,
        "side_effects": _SIDE_EFFECTS(session=session.pk),
        "assessments": _ASSESSMENTS(session=session.pk),
        "notes": notes,
    }


# The session's own actions the page links to or posts to, each `reverse(name, session.pk)`.
_SESSION_URLS = (
    "transition",
    "pre_dose",
    "start_dosing",
    "administer",
    "adjunct",
    "finish_dosing",
    "checkpoint",
    "side_effect",
    "assess_discharge",
    "discharge",
    "note_new",
)


def _page(
    request: StaffRequest,
    session: DosingSession,
    *,
    status: int = 200,
    error: str = "",
    bound: dict[str, BaseForm] | None = None,
) -> HttpResponse:
    now = timezone.now()
    loaded = _load(session)
    # The clinic's settings once for the page (read afresh on every request).
    values = all_settings(session.clinic)
    grace = values[dosing_settings.CHECKPOINT_GRACE_MINUTES]
    flowsheet = mon.flowsheet(session, now, grace=grace, readings=loaded.readings)
    dose = _dose_summary(session, loaded.doses)
    next_checkpoint = _next_checkpoint(session, flowsheet, loaded.readings)
    rechecks = mon.rechecks_pending_in(loaded.alerts, loaded.readings)
    context = {
        "session": session,
        "patient": session.patient,
        "protocol": services.protocol_of(session),
        "error": error,
        "tabs": chart_tabs(request, session.patient, "sessions"),
        "rechecks": rechecks,
        "flowsheet": flowsheet,
        "dose": dose,
        "next_checkpoint": next_checkpoint,
        "chair": _chair(session),
        "targets": {t.value for t in allowed_targets(session.state)},
        "now": now,
        "chart": _chart_points(session, loaded.readings),
        "vitals_limits": mon.session_thresholds(session, values),
        "rems_form": getattr(session, "rems_form", None),
        "can_run": has_perm(request, Perm.RUN_SESSION),
        "can_override": has_perm(request, Perm.OVERRIDE_SOFT_STOP),
        "can_note": has_perm(request, Perm.WRITE_SUPPORT_NOTE),
        "urls": {name: id_url(f"dosing:{name}", session.pk) for name in _SESSION_URLS},
    } | _rows(session, session.patient, loaded)
    forms = _forms(
        request, session, bound or {}, dose=dose, next_checkpoint=next_checkpoint, recheck=rechecks
    )
    return render(request, "dosing/session.html", context | forms, status=status)


@staff_view(Perm.VIEW_CLINICAL)
def session_detail(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id)
    audit.record(request=request, action=Action.VIEW, patient_id=session.patient_id, obj=session)
    return _page(request, session)


def _act(
    request: StaffRequest,
    session: DosingSession,
    name: str,
    form: BaseForm,
    call: Any,
    done: str | Callable[[Any], str] = "",
) -> HttpResponse:
    """Validate `form`, call the service with its data, and answer as every action does: a
    refusal re-renders the page (400); success returns to it with `done` as a confirmation."""
    if not form.is_valid():
        return _page(
            request, session, status=400, bound={name: form}, error="Please correct the form below."
        )
    try:
        result = call(form.cleaned_data)
    except DosingError as exc:
        error = f.attach_field_error(form, str(exc))
        return _page(request, session, status=400, bound={name: form}, error=error)
    message = done(result) if callable(done) else done
    if message:
        messages.success(request, message)
    return redirect("dosing:session", session.pk)


def _mg(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _at(when: Any) -> str:
    return f"{timezone.localtime(when):%H:%M %Z}"


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
        lambda result: f"Session is now: {result.get_state_display().lower()}.",
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

    return _act(
        request,
        session,
        "pre_dose_form",
        f.PreDoseForm(request.POST),
        call,
        "Pre-dose checks recorded; see the gate below.",
    )


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
        "Soft stop overridden; the reason is recorded.",
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
        "Dosing started: record each dose as it is given.",
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
        lambda given: f"Dose recorded: {_mg(given.dose_mg)} mg at {_at(given.started_at)}.",
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
        lambda given: f"Adjunct recorded: {given.product} {_mg(given.dose_mg)} mg.",
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
        "Dosing finished; monitoring has started.",
    )


class _FormRefused(Exception):
    """The form did not validate: leave the transaction, which stored nothing."""


@staff_view(Perm.RUN_SESSION)
@require_POST
def checkpoint(request: StaffRequest, session_id: int) -> HttpResponse:
    # The busiest write of a session: the session is fetched once, locked, for both the access
    # rule and the reading. A refusal ends that transaction (rolled back) before the page with
    # the reason is rendered from a fresh fetch.
    form: BaseForm = Form()
    try:
        with locked_session_for_user(request, session_id, Perm.RUN_SESSION) as session:
            form = f.CheckpointForm(request.POST, labels=_labels(session))
            if not form.is_valid():
                raise _FormRefused
            reading = _record_reading(request, session, form.cleaned_data)
    except _FormRefused:
        error = "Please correct the form below."
    except DosingError as exc:
        error = f.attach_field_error(form, str(exc))
    else:
        messages.success(request, f"Reading recorded: {reading.label} at {_at(reading.taken_at)}.")
        return HttpResponseRedirect(id_url("dosing:session", session.pk))
    shown = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    return _page(request, shown, status=400, bound={"checkpoint_form": form}, error=error)


def _record_reading(
    request: StaffRequest, session: LockedSession, data: dict[str, Any]
) -> Checkpoint:
    alert_id = data.pop("recheck_of")
    alert = (
        InSessionAlert.objects.filter(pk=alert_id, session=session).first() if alert_id else None
    )
    if alert_id and alert is None:
        raise DosingError("recheck_of: there is no such alert in this session.")
    label, taken_at = data.pop("label"), data.pop("taken_at")
    reading, raised = mon.record_checkpoint_locked(
        session=session,
        label=label,
        taken_at=taken_at,
        values=data,
        recheck_of=alert,
        by=request.user,
        request=request,
    )
    for found in raised:
        messages.warning(request, f"{found.measure} {found.value}: {found.action}")
    return reading


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
        "Alert acknowledged; what was done is recorded.",
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def side_effect(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.RUN_SESSION)
    form = f.SideEffectForm(request.POST)
    return _act(
        request,
        session,
        "side_effect_form",
        form,
        lambda _: mon.record_side_effect(
            session=session, data=form.side_effect_data(), by=request.user, request=request
        ),
        "Side effect recorded.",
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
        lambda a: (
            "Ready to leave."
            if a.allowed
            else "Not ready to leave yet: " + " ".join(str(u) for u in a.unmet)
        ),
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
        lambda done: f"Discharged at {_at(done.discharged_at)}. The session is finished.",
    )
