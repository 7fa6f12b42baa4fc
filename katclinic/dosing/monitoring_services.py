"""During and after the dose: checkpoints, in-session alerts, side effects and discharge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.notify import email_after_commit, role_emails
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import IntSetting, SettingValues, all_settings
from katclinic.dosing import clinic_settings as dosing_settings
from katclinic.dosing import monitoring
from katclinic.dosing.forms import SideEffectData
from katclinic.dosing.models import (
    Checkpoint,
    DischargeAssessment,
    DosingSession,
    InSessionAlert,
    SideEffect,
)
from katclinic.dosing.monitoring import Limit
from katclinic.dosing.rems_form import ensure_rems_form
from katclinic.dosing.services import (
    DosingError,
    LockedSession,
    _audit,
    _locked,
    move,
    protocol_of,
)
from katclinic.dosing.statemachine import SessionState
from katclinic.dosing.thresholds import effective_thresholds
from katclinic.lib import rows

S = SessionState
MEASURES = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate", "moaas", "cadss6")
OBSERVING = (S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE)


def thresholds_for(clinic: Clinic, values: SettingValues | None = None) -> monitoring.Thresholds:
    """The clinic's in-session limits as the pure module takes them, with their sources
    (from ``values``, the clinic's settings this request has read, when given)."""
    if values is None:
        values = all_settings(clinic)

    def limit(setting: IntSetting, level: monitoring.AlertLevel) -> Limit:
        return Limit(values[setting], level, setting.source, setting.verified)

    return monitoring.Thresholds(
        systolic_recheck=limit(dosing_settings.RECHECK_SYSTOLIC, "recheck"),
        diastolic_recheck=limit(dosing_settings.RECHECK_DIASTOLIC, "recheck"),
        systolic_stop=limit(dosing_settings.STOP_SYSTOLIC, "stop"),
        diastolic_stop=limit(dosing_settings.STOP_DIASTOLIC, "stop"),
        heart_rate_max=limit(dosing_settings.STOP_HEART_RATE, "stop"),
        spo2_min=limit(dosing_settings.STOP_SPO2, "stop"),
        respiratory_rate_min=limit(dosing_settings.RR_MIN, "notify_prescriber"),
        respiratory_rate_max=limit(dosing_settings.RR_MAX, "notify_prescriber"),
        moaas_min=limit(dosing_settings.MOAAS_MIN, "notify_prescriber"),
        recheck_after_minutes=values[dosing_settings.RECHECK_MINUTES],
    )


PRESCRIBER_LEVELS = ("stop", "notify_prescriber")


def prescriber_emails(session: DosingSession) -> list[str]:
    """The prescriber who signed the session's plan, while still an active prescriber here;
    otherwise every prescriber of the clinic, so an alert never goes to no one."""
    clinic_prescribers = role_emails(session.clinic, Role.PRESCRIBER)
    signer = (
        session.plan.versions.exclude(signed_by=None)
        .order_by("-number")
        .values_list("signed_by__email", flat=True)
        .first()
    )
    return [signer] if signer in clinic_prescribers else clinic_prescribers


def _tell_prescriber(session: DosingSession, alerts: list[InSessionAlert]) -> None:
    """An alert that says to stop dosing or to notify the prescriber reaches the prescriber:
    by email now (saying only where to look) and on their Today page until acknowledged."""
    urgent = [a for a in alerts if a.level in PRESCRIBER_LEVELS]
    if not urgent:
        return
    url = reverse("dosing:session", args=[session.pk])
    levels = sorted({a.get_level_display().lower() for a in urgent})
    email_after_commit(
        to=prescriber_emails(session),
        subject=f"{session.clinic.name}: a dosing session needs the prescriber now",
        body=f"A reading in the session at {session.chair} raised an alert ({', '.join(levels)}). "
        f"Open the session in KAT Clinic: {url}",
    )


def session_thresholds(
    session: DosingSession, values: SettingValues | None = None
) -> monitoring.Thresholds:
    """The limits in force for this session: the stricter of the clinic's and its protocol's
    (the clinic's from ``values`` when given, as for ``thresholds_for``)."""
    return effective_thresholds(thresholds_for(session.clinic, values), protocol_of(session))


def _reading(checkpoint: Checkpoint) -> monitoring.VitalReading:
    return monitoring.VitalReading(
        taken_at=checkpoint.taken_at,
        systolic=checkpoint.systolic,
        diastolic=checkpoint.diastolic,
        heart_rate=checkpoint.heart_rate,
        spo2=checkpoint.spo2,
        respiratory_rate=checkpoint.respiratory_rate,
        moaas=checkpoint.moaas,
    )


@transaction.atomic
def record_checkpoint(
    *,
    session: DosingSession,
    label: str,
    taken_at: datetime,
    values: Mapping[str, int | None],
    recheck_of: InSessionAlert | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> tuple[Checkpoint, list[InSessionAlert]]:
    """Store a reading, compare it with the clinic's thresholds and raise in-session alerts."""
    return record_checkpoint_locked(
        session=_locked(session),
        label=label,
        taken_at=taken_at,
        values=values,
        recheck_of=recheck_of,
        by=by,
        request=request,
    )


def record_checkpoint_locked(
    *,
    session: LockedSession,
    label: str,
    taken_at: datetime,
    values: Mapping[str, int | None],
    recheck_of: InSessionAlert | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> tuple[Checkpoint, list[InSessionAlert]]:
    """`record_checkpoint` in the caller's transaction, on the session it locked there (the
    nurse's form fetches the session once, for the access rule and the lock). A DosingError
    may follow a write: the caller lets it end that transaction, which rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("record the reading in a transaction")
    if session.state not in OBSERVING:
        raise DosingError(
            f"Readings are recorded during dosing and monitoring; this session is {session.state}."
        )
    if timezone.is_naive(taken_at) or taken_at > timezone.now() + timedelta(minutes=1):
        raise DosingError("taken_at: give the time the reading was taken (not in the future).")
    if recheck_of is not None and recheck_of.session_id != session.pk:
        raise DosingError("recheck_of: that alert belongs to another session.")
    values = {k: v for k, v in values.items() if k in MEASURES}
    if all(v is None for v in values.values()):
        raise DosingError("Enter at least one reading.")
    # One INSERT (katclinic.lib.rows): the reading has no save() of its own and no signal.
    checkpoint = rows.insert(
        Checkpoint(
            clinic_id=session.clinic_id,
            session=session,
            label=label.strip(),
            taken_at=taken_at,
            recheck_of=recheck_of,
            recorded_by=by,
            **values,
        )
    )
    thresholds = session_thresholds(session)
    alerts = [
        InSessionAlert.objects.create(
            clinic_id=session.clinic_id,
            session=session,
            checkpoint=checkpoint,
            measure=a.measure,
            value=a.value,
            limit=a.limit,
            level=a.level,
            action=a.action,
            source=a.source,
            recheck_due_at=taken_at + timedelta(minutes=thresholds.recheck_after_minutes)
            if a.level == "recheck"
            else None,
        )
        for a in monitoring.evaluate_reading(_reading(checkpoint), thresholds)
    ]
    _tell_prescriber(session, alerts)
    if alerts and session.state == S.READY_FOR_DISCHARGE:
        move(
            session, S.MONITORING, by=by, reason="Reading outside limits after being judged ready."
        )
    _audit(
        request,
        by,
        session,
        checkpoint,
        Action.CREATE,
        label=checkpoint.label,
        alerts=[f"{a.measure} {a.value} ({a.level})" for a in alerts],
    )
    return checkpoint, alerts


@transaction.atomic
def acknowledge_alert(
    *, alert: InSessionAlert, note: str, by: User, request: HttpRequest | None = None
) -> InSessionAlert:
    alert = (
        InSessionAlert.objects.select_for_update(of=("self",))
        .select_related("session")
        .get(pk=alert.pk)
    )
    if alert.acknowledged_at is not None:
        raise DosingError("This alert was already acknowledged.")
    if not note.strip():
        raise DosingError("note: say what was done.")
    alert.acknowledged_by, alert.acknowledged_at, alert.acknowledgement = (
        by,
        timezone.now(),
        note.strip(),
    )
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement"])
    _audit(request, by, alert.session, alert, Action.UPDATE, acknowledged=note.strip())
    return alert


def pending_rechecks(session: DosingSession) -> list[InSessionAlert]:
    """Recheck alerts with no recheck reading yet, earliest due first."""
    return list(
        session.alerts.filter(level="recheck", rechecks__isnull=True).order_by(
            "recheck_due_at", "pk"
        )
    )


def rechecks_pending_in(
    alerts: Iterable[InSessionAlert], readings: Iterable[Checkpoint]
) -> list[InSessionAlert]:
    """``pending_rechecks`` worked out from a session's alerts and readings already read."""
    rechecked = {reading.recheck_of_id for reading in readings}
    pending = [a for a in alerts if a.level == "recheck" and a.pk not in rechecked]
    return sorted(pending, key=lambda a: (a.recheck_due_at is None, a.recheck_due_at, a.pk))


def flowsheet(
    session: DosingSession,
    now: datetime,
    *,
    grace: int | None = None,
    readings: Iterable[Checkpoint] | None = None,
) -> list[monitoring.CheckpointStatus]:
    """The protocol's checkpoints with due time and state; empty until dosing starts.

    The pre-dose reading is taken before the dose, so it counts for the minute-0 checkpoint.
    ``readings`` are the session's readings when the caller has read them already.
    """
    if session.dose_started_at is None:
        return []
    protocol = protocol_of(session)
    start = session.dose_started_at
    specs = [
        monitoring.CheckpointSpec(
            c.label,
            c.minutes_after_start,
            tuple(c.measures),
            c.repeat_every_minutes,
            c.repeat_until_minutes,
        )
        for c in protocol.monitoring.checkpoints
    ]
    # .all() so a board that prefetched the checkpoints asks the database nothing more here.
    found = session.checkpoints.all() if readings is None else readings
    recorded = [(c.label, max(c.taken_at, start)) for c in found]
    if grace is None:
        grace = dosing_settings.CHECKPOINT_GRACE_MINUTES.value(session.clinic)
    return monitoring.due_checkpoints(specs, start, recorded, now, grace_minutes=grace)


@transaction.atomic
def record_side_effect(
    *, session: DosingSession, data: SideEffectData, by: User, request: HttpRequest | None = None
) -> SideEffect:
    """One checklist item; a serious one must say what was done and the follow-up."""
    session = _locked(session)
    if data.get("serious") and not (
        str(data.get("what_was_done", "")).strip() and str(data.get("follow_up", "")).strip()
    ):
        raise DosingError("A serious adverse event needs what was done and the follow-up.")
    effect = SideEffect.objects.create(
        clinic_id=session.clinic_id, session=session, recorded_by=by, **data
    )
    _audit(
        request,
        by,
        session,
        effect,
        Action.CREATE,
        kind=effect.kind,
        severity=effect.severity,
        serious=effect.serious,
    )
    return effect


# ---- discharge ------------------------------------------------------------------------------


def _observation_minutes(session: DosingSession) -> int:
    protocol = protocol_of(session)
    return monitoring.observation_minutes(
        clinic_minutes=protocol.monitoring.min_observation_minutes.value,
        is_intranasal_esketamine=session.is_esketamine,
    )


def _evaluate(
    session: DosingSession, judged: dict[str, bool], now: datetime
) -> monitoring.DischargeResult:
    if session.dose_started_at is None:
        raise DosingError("No dose was given; there is nothing to discharge from.")
    if now < session.dose_started_at:
        start = timezone.localtime(session.dose_started_at)
        raise DosingError(
            f"The first dose is recorded as starting at {start:%H:%M}; "
            "readiness can be assessed once it has begun."
        )
    latest = session.checkpoints.exclude(label="pre-dose").order_by("-taken_at", "-pk")
    moaas = latest.filter(moaas__isnull=False).values_list("moaas", flat=True).first()
    last_vitals = latest.filter(systolic__isnull=False).first()
    reading_ok = last_vitals is not None and not monitoring.evaluate_reading(
        _reading(last_vitals), session_thresholds(session)
    )
    return monitoring.evaluate_discharge(
        dose_start=session.dose_started_at,
        now=now,
        min_observation_minutes=_observation_minutes(session),
        latest_moaas=moaas,
        required_moaas=dosing_settings.DISCHARGE_MOAAS_MIN.value(session.clinic),
        latest_vitals_ok=judged["vitals_acceptable"] and reading_ok,
        escort_present=judged["escort_present"],
        dissociation_resolved=judged["dissociation_resolved"],
        respiratory_depression_resolved=judged["respiratory_depression_resolved"],
    )


@transaction.atomic
def assess_discharge(
    *, session: DosingSession, judged: dict[str, bool], by: User, request: HttpRequest | None = None
) -> DischargeAssessment:
    """Judge readiness to leave; when every criterion is met the session is ready for discharge.

    The first time everything but the minimum observation time is met is kept: the REMS form
    asks when the patient would have been ready without the two-hour rule.
    """
    session = _locked(session)
    if session.state not in (S.MONITORING, S.READY_FOR_DISCHARGE):
        raise DosingError(
            f"Readiness is assessed during monitoring; this session is {session.state}."
        )
    now = timezone.now()
    result = _evaluate(session, judged, now)
    if result.ready_at is not None and session.clinically_ready_at is None:
        session.clinically_ready_at = now
        session.save(update_fields=["clinically_ready_at"])
    assessment = DischargeAssessment.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        allowed=result.allowed,
        unmet=result.unmet,
        assessed_by=by,
        assessed_at=now,
        **judged,
    )
    if result.allowed and session.state == S.MONITORING:
        move(session, S.READY_FOR_DISCHARGE, by=by)
    _audit(
        request, by, session, assessment, Action.CREATE, allowed=result.allowed, unmet=result.unmet
    )
    return assessment


@transaction.atomic
def discharge(
    *, session: DosingSession, by: User, request: HttpRequest | None = None
) -> DosingSession:
    """Discharge, re-checking every criterion now against the latest assessment."""
    session = _locked(session)
    assessment = session.discharge_assessments.order_by("-assessed_at", "-pk").first()
    if session.state != S.READY_FOR_DISCHARGE or assessment is None:
        raise DosingError("Assess readiness to leave first; every criterion must be met.")
    judged = {
        k: getattr(assessment, k)
        for k in (
            "dissociation_resolved",
            "respiratory_depression_resolved",
            "vitals_acceptable",
            "escort_present",
        )
    }
    now = timezone.now()
    result = _evaluate(session, judged, now)
    if not result.allowed:
        raise DosingError("Not ready to leave: " + " ".join(result.unmet))
    session.discharged_at = now
    session.save(update_fields=["discharged_at"])
    move(session, S.DISCHARGED, by=by)
    if session.is_esketamine:
        ensure_rems_form(session)
    _audit(
        request,
        by,
        session,
        session,
        Action.UPDATE,
        **{"from": S.READY_FOR_DISCHARGE.value, "to": S.DISCHARGED.value},
    )
    return session
