"""Running a dosing session: lifecycle, pre-dose gate and administrations.

Each public function is one transaction with one audit event. Monitoring and discharge live in
`monitoring_services`, notes and REMS forms in `record_services`, the ledger in
`ledger_services`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NewType
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import all_settings
from katclinic.dosing import clinic_settings as dosing_settings
from katclinic.dosing import gate, integrations, ledger_services
from katclinic.dosing.models import (
    Administration,
    DosingSession,
    GateCheck,
    Pregnancy,
    RemsEnrollment,
    SessionEvent,
    StockLot,
)
from katclinic.dosing.rems_form import ensure_rems_form
from katclinic.dosing.statemachine import InvalidTransition, SessionState, check_transition
from katclinic.lib import rows
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan
from katclinic.protocols.schema import Protocol
from katclinic.scheduling.models import Appointment

S = SessionState


class DosingError(ValueError):
    """A request the session rules refuse, in words staff can act on."""


def protocol_of(session: DosingSession) -> Protocol:
    return session.plan.protocol_version.protocol


# A session fetched with `DosingSession.objects.locked()` inside the running transaction:
# only `_locked` and `access.locked_session_for_user` make one.
LockedSession = NewType("LockedSession", DosingSession)


def _locked(session: DosingSession) -> LockedSession:
    return LockedSession(DosingSession.objects.locked().get(pk=session.pk))


def _audit(
    request: HttpRequest | None,
    by: User,
    session: DosingSession,
    obj: Model,
    action: Action,
    **detail: object,
) -> None:
    audit.record(
        request=request,
        user=by,
        action=action,
        clinic_id=session.clinic_id,
        patient_id=session.patient_id,
        obj=obj,
        detail={"session": session.pk, **detail},
    )


def move(session: DosingSession, target: SessionState, *, by: User, reason: str = "") -> None:
    """Change state (inside the caller's transaction) and record the event; no audit here."""
    try:
        check_transition(session.state, target, reason=reason)
    except InvalidTransition as exc:
        raise DosingError(str(exc)) from None
    SessionEvent.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        from_state=session.state,
        to_state=target.value,
        by=by,
        reason=reason.strip(),
    )
    session.state = target.value
    if target is S.STOPPED_EARLY:
        session.stop_reason = reason.strip()
    session.save(update_fields=["state", "stop_reason"])


def step(
    session: DosingSession, to: SessionState, *, by: User, request: HttpRequest | None
) -> None:
    """Move ``session`` on (inside the caller's transaction) with its audit event."""
    before = session.state
    move(session, to, by=by)
    _audit(request, by, session, session, Action.UPDATE, **{"from": before, "to": to.value})


@transaction.atomic
def create_session(
    *,
    patient: Patient,
    plan: Plan,
    chair: str,
    scheduled_for: datetime | None,
    by: User,
    appointment: Appointment | None = None,
    request: HttpRequest | None = None,
) -> DosingSession:
    """Open a session under the patient's plan, optionally for a booked dosing appointment
    (whose chair and start it takes); questionnaires around it are set up."""
    if plan.patient_id != patient.pk or plan.clinic_id != patient.clinic_id:
        raise DosingError("plan: choose a plan of this patient.")
    if appointment is not None:
        if appointment.patient_id != patient.pk or appointment.kind != "dosing":
            raise DosingError("appointment: choose a dosing appointment of this patient.")
        # The booking holds the chair: a name typed beside it cannot send the patient elsewhere.
        chair = appointment.chair.name if appointment.chair else chair
        scheduled_for = appointment.start
    if scheduled_for is None or timezone.is_naive(scheduled_for):
        raise DosingError("scheduled_for: give a timezone-aware start.")
    if not chair.strip():
        raise DosingError("chair: say which chair the patient will use.")
    session = DosingSession.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        plan=plan,
        chair=chair.strip(),
        route=plan.protocol_version.route,
        scheduled_for=scheduled_for,
        created_by=by,
        appointment=appointment,
        pregnancy_status=Pregnancy.NOT_APPLICABLE
        if patient.sex_at_birth == "male"
        else Pregnancy.UNKNOWN,
    )
    SessionEvent.objects.create(
        clinic_id=session.clinic_id, session=session, to_state=S.SCHEDULED, by=by
    )
    integrations.schedule_questionnaires(patient=patient, session_start=scheduled_for, by=by)
    _audit(request, by, session, session, Action.CREATE, chair=session.chair)
    return session


@transaction.atomic
def transition(
    *,
    session: DosingSession,
    to: SessionState,
    by: User,
    reason: str = "",
    request: HttpRequest | None = None,
) -> DosingSession:
    """Plain state changes: check in, begin checks, back to monitoring, stop early.

    Dosing, discharge and readiness have their own services because they need more than a
    state change; asking for them here is refused.
    """
    if to in (S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE, S.DISCHARGED) and not (
        to is S.MONITORING and session.state == S.READY_FOR_DISCHARGE
    ):
        raise DosingError(f"Use the {to.value.replace('_', ' ')} step for this change.")
    session = _locked(session)
    before = session.state
    move(session, to, by=by, reason=reason)
    if to is S.STOPPED_EARLY and session.is_esketamine and session.administrations.exists():
        ensure_rems_form(session)
    _audit(
        request,
        by,
        session,
        session,
        Action.UPDATE,
        **{"from": before, "to": to.value, "reason": reason},
    )
    return session


# ---- pre-dose gate ----------------------------------------------------------------------


def required_checks(session: DosingSession, protocol: Protocol) -> dict[str, gate.StopKind]:
    """The protocol's checks, plus those this clinic never skips.

    An open safety alert always stops dosing (measures raises these for suicidality), so does
    the lack of a signed, current eligibility decision for the route, and an
    esketamine session always checks REMS enrolment, whatever the protocol file lists.
    """
    checks: dict[str, gate.StopKind] = {c.key: c.stop for c in protocol.pre_dose_checks}
    checks["no_open_safety_alert"] = "hard"
    checks["eligibility_current"] = "hard"
    if session.is_esketamine:
        checks["rems_enrolled"] = "hard"
        if _prior_authorization(session) is not None:
            checks["prior_authorization"] = "soft"
    return checks


def _prior_authorization(session: DosingSession) -> integrations.Answer | None:
    """An insured esketamine session's authorization check (insurance app), else None."""
    on = timezone.localtime(session.scheduled_for, ZoneInfo(session.clinic.timezone)).date()
    return integrations.prior_authorization(
        session.patient, on=on, is_esketamine=session.is_esketamine
    )


def pre_dose_limits(session: DosingSession, protocol: Protocol) -> gate.VitalLimits:
    """The stricter of the clinic's settings and the protocol's pre-dose BP limits."""
    values = all_settings(session.clinic)
    thresholds = protocol.thresholds
    return gate.VitalLimits(
        systolic_max=min(
            values[dosing_settings.PRE_SYSTOLIC_MAX], int(thresholds.pre_dose_max_systolic.value)
        ),
        diastolic_max=min(
            values[dosing_settings.PRE_DIASTOLIC_MAX], int(thresholds.pre_dose_max_diastolic.value)
        ),
        heart_rate_max=values[dosing_settings.PRE_HEART_RATE_MAX],
        spo2_min=values[dosing_settings.PRE_SPO2_MIN],
        source="clinic settings (dosing_pre_*) and the protocol's pre-dose limits, the stricter of each",
    )


def _last_dose_at(session: DosingSession) -> datetime | None:
    return (
        Administration.objects.filter(session__patient_id=session.patient_id, is_adjunct=False)
        .exclude(session=session)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def flagged_medications(patient: Patient) -> list[str]:
    """Active medications with an interaction flag, e.g. "Lorazepam (benzodiazepine)"."""
    return [
        f"{m.name} ({', '.join(m.flags)})"
        for m in patient.medications.filter(is_active=True)
        if m.flags
    ]


def _facts(
    session: DosingSession, protocol: Protocol, now: datetime
) -> tuple[gate.GateFacts, dict[str, str]]:
    """What the gate needs, and better reasons for checks answered by other apps (or not)."""
    consent = integrations.consent(session.patient, route=session.route)
    alerts = integrations.open_safety_alerts(session.patient)
    questionnaires = integrations.pre_session_questionnaires(session.patient, session.scheduled_for)
    vitals = (
        session.checkpoints.filter(label="pre-dose", systolic__isnull=False)
        .order_by("-taken_at")
        .first()
    )
    fasting = protocol.instructions.fasting
    eligible = integrations.eligibility(session.patient, route=session.route, plan=session.plan)
    unavailable = {"eligibility_current": eligible.detail}
    if not consent.ok:
        unavailable["consent_current"] = consent.detail
    if not questionnaires.ok and not session.questionnaires_confirmed:
        unavailable["questionnaires_done"] = questionnaires.detail
    authorization = _prior_authorization(session) if session.is_esketamine else None
    if authorization is not None:
        unavailable["prior_authorization"] = authorization.detail
    flagged = flagged_medications(session.patient)
    if flagged:
        state = "Reviewed" if session.meds_reviewed_at else "Not reviewed"
        unavailable["concomitant_meds_reviewed"] = f"{state}; flagged: {', '.join(flagged)}."
    facts = gate.GateFacts(
        consent_current=consent.ok,
        eligibility_current=eligible.ok,
        plan_signed=integrations.plan_dose_limits(session.plan) is not None,
        last_dose_at=_last_dose_at(session),
        min_interval_hours=float(protocol.spacing.min_interval_hours.value),
        vitals=None
        if vitals is None
        else gate.PreDoseVitals(
            vitals.systolic or 0, vitals.diastolic or 0, vitals.heart_rate or 0, vitals.spo2 or 0
        ),
        questionnaires_done=questionnaires.ok or session.questionnaires_confirmed,
        open_safety_alerts=alerts.items,
        last_food_at=session.last_food_at,
        last_liquid_at=session.last_liquid_at,
        fasting_food_hours=float(fasting.no_food_hours) if fasting else None,
        fasting_liquid_hours=fasting.no_liquids_minutes / 60 if fasting else None,
        escort_confirmed=session.escort_confirmed and session.no_driving_agreed,
        pregnancy_status=session.pregnancy_status,  # type: ignore[arg-type]
        is_intranasal_esketamine=session.is_esketamine,
        rems_enrolled=RemsEnrollment.objects.filter(patient_id=session.patient_id).exists(),
        concomitant_meds_reviewed=session.meds_reviewed_at is not None,
        prior_authorization_valid=authorization is None or authorization.ok,
    )
    return facts, unavailable


def evaluate_gate(session: DosingSession, *, by: User, now: datetime) -> list[GateCheck]:
    """Run the gate and store its checks as a new evaluation (inside the caller's transaction)."""
    protocol = protocol_of(session)
    facts, unavailable = _facts(session, protocol, now)
    result = gate.evaluate_gate(
        facts,
        required_checks=required_checks(session, protocol),
        limits=pre_dose_limits(session, protocol),
        now=now,
    )
    number = (
        session.gate_checks.order_by("-evaluation").values_list("evaluation", flat=True).first()
        or 0
    ) + 1
    rows = [
        GateCheck(
            clinic_id=session.clinic_id,
            session=session,
            evaluation=number,
            key=item.key,
            label=item.label,
            stop=item.stop,
            result=item.result,
            evaluated_by=by,
            evaluated_at=now,
            reason=unavailable.get(item.key, item.reason),
        )
        for item in result.items
    ]
    return GateCheck.objects.bulk_create(rows)


# The session's gate checks, newest evaluation first, compiled once (katclinic.lib.rows).
_GATE_CHECKS = rows.Compiled(
    GateCheck,
    lambda session: (
        GateCheck.objects.filter(session_id=session)
        .select_related("overridden_by")
        .order_by("-evaluation", "pk")
    ),
    "session",
)


def latest_gate(session: DosingSession) -> list[GateCheck]:
    """The checks of the session's latest gate evaluation, in one query (a session is
    evaluated a few times at most, before its first dose)."""
    checks = _GATE_CHECKS(session=session.pk)
    return [c for c in checks if c.evaluation == checks[0].evaluation] if checks else []


@transaction.atomic
def record_pre_dose(
    *,
    session: DosingSession,
    vitals: dict[str, int],
    last_food_at: datetime | None,
    last_liquid_at: datetime | None,
    escort_confirmed: bool,
    no_driving_agreed: bool,
    pregnancy_status: str,
    meds_reviewed: bool,
    questionnaires_confirmed: bool,
    rems_enrolled_on: date | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> list[GateCheck]:
    """Store the pre-dose facts and vitals, then run the gate and keep every check's result."""
    session = _locked(session)
    if session.state == S.CHECKED_IN:
        move(session, S.PRE_DOSE_CHECKS, by=by)
    if session.state != S.PRE_DOSE_CHECKS:
        raise DosingError(
            f"Pre-dose checks are done before dosing; this session is {session.state}."
        )
    now = timezone.now()
    session.last_food_at, session.last_liquid_at = last_food_at, last_liquid_at
    session.escort_confirmed, session.no_driving_agreed = escort_confirmed, no_driving_agreed
    session.pregnancy_status, session.questionnaires_confirmed = (
        pregnancy_status,
        questionnaires_confirmed,
    )
    if meds_reviewed:
        session.meds_reviewed_by, session.meds_reviewed_at = by, now
    session.save()
    session.checkpoints.create(
        clinic_id=session.clinic_id, label="pre-dose", taken_at=now, recorded_by=by, **vitals
    )
    if (
        rems_enrolled_on
        and not RemsEnrollment.objects.filter(patient_id=session.patient_id).exists()
    ):
        RemsEnrollment.objects.create(
            clinic_id=session.clinic_id,
            patient_id=session.patient_id,
            enrolled_on=rems_enrolled_on,
            recorded_by=by,
        )
    checks = evaluate_gate(session, by=by, now=now)
    _audit(
        request,
        by,
        session,
        session,
        Action.UPDATE,
        step="pre_dose",
        results={c.key: c.result for c in checks},
    )
    return checks


def _is_prescriber(user: User, clinic_id: int) -> bool:
    return (
        StaffMembership.objects.active()
        .filter(user=user, clinic_id=clinic_id, role=Role.PRESCRIBER)
        .exists()
    )


@transaction.atomic
def override_soft_stop(
    *, check: GateCheck, by: User, reason: str, request: HttpRequest | None = None
) -> GateCheck:
    """A prescriber waives one failed soft stop of the latest gate run, with a written reason."""
    session = _locked(check.session)
    current = {c.pk: c for c in latest_gate(session)}
    if check.pk not in current:
        raise DosingError("Only the latest run of the pre-dose checks can be overridden.")
    check = current[check.pk]
    item = gate.GateItem(check.key, check.label, check.stop, check.result, check.reason)  # type: ignore[arg-type]
    result = gate.GateResult(items=(item,), evaluated_at=check.evaluated_at)
    role = "prescriber" if _is_prescriber(by, session.clinic_id) else "other"
    try:
        gate.apply_override(result, check.key, by_role=role, reason=reason)
    except gate.OverrideRefused as exc:
        raise DosingError(str(exc)) from None
    check.overridden_by, check.overridden_at, check.override_reason = (
        by,
        timezone.now(),
        reason.strip(),
    )
    check.save(update_fields=["overridden_by", "overridden_at", "override_reason"])
    _audit(request, by, session, check, Action.UPDATE, check=check.key, override=reason.strip())
    return check


@transaction.atomic
def start_dosing(
    *, session: DosingSession, by: User, request: HttpRequest | None = None
) -> DosingSession:
    """Move to dosing when the latest gate run has nothing blocking."""
    session = _locked(session)
    checks = latest_gate(session)
    if not checks:
        raise DosingError("Run the pre-dose checks first.")
    blocking = [c.label for c in checks if c.blocks]
    if blocking:
        raise DosingError("Dosing is blocked by: " + "; ".join(blocking) + ".")
    step(session, S.DOSING, by=by, request=request)
    return session


# ---- administration -----------------------------------------------------------------------


def _check_interval(session: DosingSession, protocol: Protocol, started_at: datetime) -> None:
    last = _last_dose_at(session)
    needed = timedelta(hours=protocol.spacing.min_interval_hours.value)
    if last is not None and started_at - last < needed:
        hours = (started_at - last).total_seconds() / 3600
        raise DosingError(
            f"Only {hours:.1f} h since the last dose; the protocol needs {needed.total_seconds() / 3600:.0f} h."
        )


def _check_devices(
    session: DosingSession, protocol: Protocol, dose_mg: Decimal, started_at: datetime
) -> int | None:
    """For device products: one device per row, spaced as the protocol says. The device number."""
    product = protocol.product
    if product.device_mg is None:
        return None
    if dose_mg != product.device_mg:
        raise DosingError(
            f"dose_mg: record each device separately ({product.device_mg} mg per device)."
        )
    previous = session.administrations.filter(is_adjunct=False).order_by("-started_at").first()
    gap = timedelta(minutes=product.minutes_between_devices or 0)
    if previous is not None and started_at - previous.started_at < gap:
        raise DosingError(
            f"started_at: devices must be at least {product.minutes_between_devices} minutes apart "
            f"(previous device at {timezone.localtime(previous.started_at):%H:%M})."
        )
    return session.administrations.filter(is_adjunct=False).count() + 1


def _check_plan(session: DosingSession, protocol: Protocol, dose_mg: Decimal) -> None:
    limits = integrations.plan_dose_limits(session.plan)
    if limits is None:
        raise DosingError("The plan has no signed version; nothing may be given under it.")
    low, high, _planned = limits
    given = sum((a.dose_mg for a in session.administrations.filter(is_adjunct=False)), Decimal(0))
    if given + dose_mg > high:
        raise DosingError(
            f"dose_mg: {given + dose_mg} mg in this session would exceed the plan's maximum of {high} mg."
        )
    if protocol.product.device_mg is None and given == 0 and dose_mg < low:
        raise DosingError(f"dose_mg: {dose_mg} mg is below the plan's minimum of {low} mg.")


def _check_lot(session: DosingSession, lot: StockLot, started_at: datetime) -> None:
    if lot.clinic_id != session.clinic_id:
        raise DosingError("lot: choose a lot held by this clinic.")
    if lot.expiry < timezone.localtime(started_at).date():
        raise DosingError(
            f"lot: {lot.lot_number} expired on {lot.expiry:%Y-%m-%d}; it may not be given."
        )


def _check_product(protocol: Protocol, lot: StockLot) -> None:
    """The lot must be the form of product the protocol gives: nasal devices or a solution."""
    product = protocol.product
    if product.device_mg is not None and lot.concentration_mg_per_ml is not None:
        raise DosingError(
            f"lot: {lot} is a solution; this session gives {product.name}, a nasal device."
        )
    if product.device_mg is None and lot.concentration_mg_per_ml is None:
        raise DosingError(f"lot: {lot} is a device product; this session gives {product.name}.")


def _check_times(session: DosingSession, started_at: datetime, late_reason: str) -> None:
    """Not in the future beyond clock skew, not before the pre-dose checks, late entry explained."""
    now = timezone.now()
    ahead = timedelta(minutes=dosing_settings.FUTURE_TOLERANCE_MINUTES.value(session.clinic))
    if started_at > now + ahead:
        raise DosingError("started_at: this time is in the future.")
    first_check = session.gate_checks.order_by("evaluated_at").first()
    # Forms give times to the minute, so the checks count from the start of their minute.
    if first_check is None or started_at < first_check.evaluated_at.replace(
        second=0, microsecond=0
    ):
        raise DosingError("started_at: this time is before the pre-dose checks were recorded.")
    window = timedelta(minutes=dosing_settings.LATE_ENTRY_MINUTES.value(session.clinic))
    if started_at < now - window and not late_reason.strip():
        raise DosingError(
            "late_entry_reason: this dose is entered late; say why it was not recorded at the time."
        )


def _take(given: Administration, by: User, drawn_mg: Decimal | None) -> None:
    try:
        ledger_services.take_for_administration(administration=given, by=by, drawn_mg=drawn_mg)
    except ledger_services.LedgerRefused as exc:
        field = "drawn_mg" if str(exc).startswith("drawn_mg") else "dose_mg"
        raise DosingError(f"{field}: {ledger_services.refusal_reason(exc)}") from None


@transaction.atomic
def record_administration(
    *,
    session: DosingSession,
    lot: StockLot,
    dose_mg: Decimal,
    started_at: datetime,
    ended_at: datetime | None = None,
    rate_mg_per_h: Decimal | None = None,
    late_entry_reason: str = "",
    drawn_mg: Decimal | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> Administration:
    """Check against the plan and interval, take it from the ledger, store it, audit it."""
    session = _locked(session)
    if session.state != S.DOSING:
        raise DosingError(f"Doses are recorded while dosing; this session is {session.state}.")
    protocol = protocol_of(session)
    _check_times(session, started_at, late_entry_reason)
    _check_lot(session, lot, started_at)
    _check_product(protocol, lot)
    _check_plan(session, protocol, dose_mg)
    _check_interval(session, protocol, started_at)
    device = _check_devices(session, protocol, dose_mg, started_at)
    version = session.plan.current_version()
    per_kg = (
        (dose_mg / version.weight_kg).quantize(Decimal("0.001"))
        if version and version.weight_kg
        else None
    )
    given = Administration.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        product=lot.product,
        stock_lot=lot,
        concentration_mg_per_ml=lot.concentration_mg_per_ml,
        lot_number=lot.lot_number,
        expiry=lot.expiry,
        dose_mg=dose_mg,
        dose_mg_per_kg=per_kg,
        route=session.route,
        device_number=device,
        started_at=started_at,
        ended_at=ended_at,
        rate_mg_per_h=rate_mg_per_h,
        late_entry_reason=late_entry_reason.strip(),
        given_by=by,
    )
    _take(given, by, drawn_mg)
    if session.dose_started_at is None or started_at < session.dose_started_at:
        session.dose_started_at = started_at
        session.save(update_fields=["dose_started_at"])
    _audit(
        request,
        by,
        session,
        given,
        Action.CREATE,
        dose_mg=str(dose_mg),
        lot=lot.lot_number,
        device=device,
    )
    return given


@transaction.atomic
def record_adjunct(
    *,
    session: DosingSession,
    product: str,
    dose_mg: Decimal,
    route: str,
    lot_number: str,
    expiry: date,
    started_at: datetime,
    by: User,
    request: HttpRequest | None = None,
) -> Administration:
    """An adjunct such as ondansetron: not a controlled product, so no ledger entry."""
    session = _locked(session)
    if session.state not in (S.PRE_DOSE_CHECKS, S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE):
        raise DosingError(
            f"Adjuncts are recorded during a session; this session is {session.state}."
        )
    if expiry < timezone.localtime(started_at).date():
        raise DosingError(f"expiry: {product} lot {lot_number} expired on {expiry:%Y-%m-%d}.")
    given = Administration.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        is_adjunct=True,
        product=product.strip(),
        lot_number=lot_number.strip(),
        expiry=expiry,
        dose_mg=dose_mg,
        route=route,
        started_at=started_at,
        given_by=by,
    )
    _audit(request, by, session, given, Action.CREATE, adjunct=product, dose_mg=str(dose_mg))
    return given


@transaction.atomic
def finish_dosing(
    *, session: DosingSession, by: User, request: HttpRequest | None = None
) -> DosingSession:
    session = _locked(session)
    if not session.administrations.filter(is_adjunct=False).exists():
        raise DosingError("No dose has been recorded; stop the session early instead.")
    step(session, S.MONITORING, by=by, request=request)
    return session
