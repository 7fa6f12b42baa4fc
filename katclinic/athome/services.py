"""Every write of take-home dosing, each in one transaction with its audit event."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.athome import clinic_settings as S
from katclinic.athome import gate
from katclinic.athome.models import (
    AlertKind,
    CheckIn,
    Dispense,
    HomeAlert,
    HomeSession,
    PostSessionCheckIn,
    Reconciliation,
    SessionState,
    Severity,
    TakeHomePrescription,
)
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import all_settings
from katclinic.dosing.clinic_settings import PRE_DIASTOLIC_MAX, PRE_SYSTOLIC_MAX
from katclinic.dosing.doses import last_dose_at
from katclinic.measures import alert_steps
from katclinic.measures.models import SafetyAlert
from katclinic.measures.safety import director_emails
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlanStatus
from katclinic.protocols.schema import Protocol, TakeHome
from katclinic.surveillance.models import ReviewKind
from katclinic.surveillance.services import raise_review_task


class AtHomeError(ValueError):
    """A step the rules do not allow; `field` names the form field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def protocol_of(plan: Plan) -> Protocol:
    return plan.protocol_version.protocol


def take_home_of(protocol: Protocol) -> TakeHome:
    """The protocol's take-home rules; a prescription is only ever written under them."""
    if protocol.take_home is None:
        raise AtHomeError("plan", "This plan's protocol does not allow take-home doses.")
    return protocol.take_home


def home_bp_limits(clinic: Clinic, protocol: Protocol) -> gate.BpLimits:
    """The stricter of the clinic's pre-dose settings and the protocol's pre-dose limits,
    the same rule the in-clinic dosing gate applies."""
    values = all_settings(clinic)
    limits = protocol.thresholds
    return gate.BpLimits(
        systolic_max=min(values[PRE_SYSTOLIC_MAX], int(limits.pre_dose_max_systolic.value)),
        diastolic_max=min(values[PRE_DIASTOLIC_MAX], int(limits.pre_dose_max_diastolic.value)),
        source="the stricter of the clinic's pre-dose settings and the protocol's pre-dose limits",
    )


def take_home_plans(patient: Patient) -> list[Plan]:
    """The patient's active signed plans whose protocol allows take-home doses."""
    plans = Plan.objects.filter(
        patient=patient, clinic_id=patient.clinic_id, status=PlanStatus.ACTIVE
    )
    return [p for p in plans.select_related("protocol_version") if protocol_of(p).take_home]


def current_prescription(patient: Patient) -> TakeHomePrescription | None:
    """The newest prescription under an active take-home plan."""
    plans = [p.pk for p in take_home_plans(patient)]
    if not plans:
        return None  # no take-home plan, no prescription under one (and no query to build)
    return (
        TakeHomePrescription.objects.filter(patient=patient, plan_id__in=plans)
        .select_related("plan__protocol_version", "clinic")
        .first()
    )


def dispensed_total(prescription: TakeHomePrescription) -> int:
    return int(prescription.dispenses.aggregate(total=Sum("quantity"))["total"] or 0)


def sessions_logged(prescription: TakeHomePrescription) -> int:
    return prescription.sessions.taken().count()


def lozenges_on_hand(prescription: TakeHomePrescription) -> int:
    """What the patient should hold by the records: dispensed minus lozenges logged."""
    used = prescription.sessions.taken().aggregate(total=Sum("lozenges"))["total"] or 0
    return dispensed_total(prescription) - int(used)


# ---- prescriptions and dispenses -------------------------------------------------------------


@dataclass(frozen=True)
class PrescriptionInput:
    plan: Plan
    product: str
    strength_mg: Decimal
    lozenges_per_session: int
    quantity: int
    refills: int
    pharmacy: str
    pdmp_checked: bool
    pdmp_checked_on: date | None


def _check_prescription(patient: Patient, data: PrescriptionInput) -> Decimal:
    if not data.pdmp_checked or data.pdmp_checked_on is None:
        raise AtHomeError(
            "pdmp_checked_on",
            "Check the prescription-monitoring database and give the date before signing.",
        )
    today = timezone.localdate()
    max_age = S.PDMP_MAX_AGE_DAYS.value(patient.clinic)
    if data.pdmp_checked_on > today:
        raise AtHomeError("pdmp_checked_on", "The monitoring check cannot be dated in the future.")
    if (today - data.pdmp_checked_on).days > max_age:
        raise AtHomeError(
            "pdmp_checked_on",
            f"The monitoring check is older than {max_age} days: check again today.",
        )
    if data.plan.patient_id != patient.pk or data.plan.status != PlanStatus.ACTIVE:
        raise AtHomeError("plan", "Choose an active, signed plan of this patient.")
    if protocol_of(data.plan).take_home is None:
        raise AtHomeError("plan", "This plan's protocol does not allow take-home doses.")
    version = data.plan.current_version()
    dose = data.strength_mg * data.lozenges_per_session
    if version is None or not version.min_mg <= dose <= version.max_mg:
        limits = f"{version.min_mg}-{version.max_mg} mg" if version else "none signed"
        raise AtHomeError(
            "lozenges_per_session",
            f"A session of {dose} mg is outside the plan's limits ({limits}).",
        )
    if data.quantity < data.lozenges_per_session:
        raise AtHomeError("quantity", "The quantity must cover at least one session.")
    return dose


@transaction.atomic
def prescribe(
    *, patient: Patient, data: PrescriptionInput, by: User, request: HttpRequest | None = None
) -> TakeHomePrescription:
    """Sign a take-home prescription; the monitoring check is required and must be recent."""
    dose = _check_prescription(patient, data)
    checked_on = data.pdmp_checked_on or timezone.localdate()  # never empty past the check
    prescription = TakeHomePrescription.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        plan=data.plan,
        product=data.product.strip(),
        strength_mg=data.strength_mg,
        lozenges_per_session=data.lozenges_per_session,
        dose_mg=dose,
        quantity=data.quantity,
        refills=data.refills,
        pharmacy=data.pharmacy.strip(),
        pdmp_checked_on=checked_on,
        pdmp_checked_by=by,
        signed_by=by,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.SIGN,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=prescription,
        detail={
            "dose_mg": str(dose),
            "quantity": data.quantity,
            "pdmp_checked_on": str(data.pdmp_checked_on),
        },
    )
    return prescription


@transaction.atomic
def record_dispense(
    *,
    prescription: TakeHomePrescription,
    quantity: int,
    dispensed_on: date,
    by: User,
    request: HttpRequest | None = None,
) -> Dispense:
    prescription = TakeHomePrescription.objects.select_for_update().get(pk=prescription.pk)
    allowed = prescription.quantity * (1 + prescription.refills)
    if quantity <= 0:
        raise AtHomeError("quantity", "Enter how many lozenges were dispensed.")
    if dispensed_total(prescription) + quantity > allowed:
        raise AtHomeError(
            "quantity",
            f"This would dispense more than the {allowed} the prescription allows with refills.",
        )
    if dispensed_on > timezone.localdate():
        raise AtHomeError("dispensed_on", "The dispense date cannot be in the future.")
    dispense = Dispense.objects.create(
        clinic_id=prescription.clinic_id,
        prescription=prescription,
        quantity=quantity,
        dispensed_on=dispensed_on,
        recorded_by=by,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=prescription.clinic_id,
        patient_id=prescription.patient_id,
        obj=dispense,
        detail={"quantity": quantity},
    )
    return dispense


# ---- sessions --------------------------------------------------------------------------------


def _audit(
    request: HttpRequest | None, obj: models.Model, session: HomeSession, **detail: object
) -> None:
    audit.record(
        request=request,
        action=Action.CREATE if obj is not session else Action.UPDATE,
        clinic_id=session.clinic_id,
        patient_id=session.patient_id,
        obj=obj,
        detail=detail,
    )


def min_hours_after_any_dose(clinic: Clinic, protocol: Protocol) -> int:
    """The longer of the protocol's minimum interval and the clinic's setting, in hours."""
    return max(
        protocol.spacing.min_interval_hours.value,
        S.MIN_HOURS_AFTER_ANY_DOSE.value(clinic),
    )


def _refuse_if_record_forbids(patient: Patient, protocol: Protocol) -> None:
    """Refuse a take-home dose while a safety alert is open or another dose is too recent.

    Asked when the session starts, when it opens after the check-in and when the dose is
    taken, so an alert raised or a clinic dose given in between still stops it.
    """
    if SafetyAlert.objects.open_alerts(patient).exists():
        raise AtHomeError(
            "session",
            "The clinic needs to speak with you about a recent answer before any dose at home. "
            "Do not take a dose now; please call the clinic.",
        )
    last = last_dose_at(patient=patient)
    wait = timedelta(hours=min_hours_after_any_dose(patient.clinic, protocol))
    if last is not None and timezone.now() < last + wait:
        when = timezone.localtime(last + wait)
        raise AtHomeError(
            "session",
            "Your plan spaces doses, counting doses in clinic and at home: the next one can "
            f"be taken from {when:%A %-d %B, %H:%M}.",
        )


def _expire_if_stale(session: HomeSession, request: HttpRequest | None) -> bool:
    """End an open session whose check-in is older than the clinic allows; True if it did."""
    valid = timedelta(minutes=S.CHECKIN_VALID_MINUTES.value(session.clinic))
    if session.state != SessionState.OPEN or session.opened_at is None:
        return False
    if timezone.now() <= session.opened_at + valid:
        return False
    session.state, session.ended_at = SessionState.EXPIRED, timezone.now()
    session.save(update_fields=["state", "ended_at"])
    _audit(request, session, session, step="expired")
    return True


def _locked_session(session: HomeSession) -> HomeSession:
    """The session, locked, with its plan's protocol."""
    return (
        HomeSession.objects.select_for_update(of=("self",))
        .select_related("prescription__plan__protocol_version")
        .get(pk=session.pk)
    )


@transaction.atomic
def start_session(*, patient: Patient, request: HttpRequest | None = None) -> HomeSession:
    """Begin a check-in, or return the session already in progress."""
    in_progress = HomeSession.objects.filter(
        patient=patient, state__in=[SessionState.CHECKING_IN, SessionState.OPEN]
    ).first()
    if in_progress is not None and not _expire_if_stale(in_progress, request):
        return in_progress
    prescription = current_prescription(patient)
    if prescription is None:
        raise AtHomeError("session", "You have no take-home prescription under an active plan.")
    if lozenges_on_hand(prescription) < prescription.lozenges_per_session:
        raise AtHomeError(
            "session",
            "By the clinic's records you have no lozenges left for a session. Call the clinic.",
        )
    _refuse_if_record_forbids(patient, protocol_of(prescription.plan))
    try:
        with transaction.atomic():
            session = HomeSession.objects.create(
                clinic_id=patient.clinic_id, patient=patient, prescription=prescription
            )
    except IntegrityError:  # a second tab started one at the same moment: use that one
        return HomeSession.objects.get(patient=patient, state=SessionState.CHECKING_IN)
    _audit(request, session, session, step="started")
    return session


def _fasting_text(protocol: Protocol) -> str:
    fasting = protocol.instructions.fasting
    if not fasting:
        return ""
    return f"no food for {fasting.no_food_hours} h, no drinks for {fasting.no_liquids_minutes} min"


def _store_checkin(
    session: HomeSession,
    answers: gate.Answers,
    results: list[gate.ItemResult],
    limits: gate.BpLimits,
) -> CheckIn:
    return CheckIn.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        systolic=answers.systolic,
        diastolic=answers.diastolic,
        monitor_name=answers.monitor_name.strip(),
        answers={
            "monitor_present": answers.monitor_present,
            "substances_taken": answers.substances_taken,
            "will_not_drive": answers.will_not_drive,
            "safe_setting": answers.safe_setting,
            "fasted": answers.fasted,
        },
        items=[r.as_dict() for r in results],
        passed=all(r.passed for r in results),
        limits=f"{limits.systolic_max}/{limits.diastolic_max} ({limits.source})",
    )


def _open_or_block(session: HomeSession, passed: bool) -> None:
    """A passed check-in opens the session; a failed one ends it blocked."""
    now = timezone.now()
    if passed:
        session.state, session.opened_at = SessionState.OPEN, now
    else:
        session.state, session.ended_at = SessionState.BLOCKED, now
    session.save(update_fields=["state", "opened_at", "ended_at"])


@transaction.atomic
def submit_checkin(
    *, session: HomeSession, answers: gate.Answers, request: HttpRequest | None = None
) -> CheckIn:
    """Record one check-in attempt; a failed item blocks the session and alerts the clinic."""
    session = _locked_session(session)
    if session.state != SessionState.CHECKING_IN:
        raise AtHomeError("session", "This session is not waiting for a check-in.")
    protocol = protocol_of(session.prescription.plan)
    _refuse_if_record_forbids(session.patient, protocol)
    take_home = take_home_of(protocol)
    limits = home_bp_limits(session.clinic, protocol)
    results = gate.evaluate(
        list(take_home.checkin),
        answers,
        limits=limits,
        substance_free_hours=take_home.substance_free_hours.value,
        fasting_text=_fasting_text(protocol),
    )
    checkin = _store_checkin(session, answers, results, limits)
    _open_or_block(session, checkin.passed)
    failed = [r for r in results if not r.passed]
    _audit(request, checkin, session, passed=checkin.passed, failed=[r.key for r in failed])
    if failed:
        reasons = "; ".join(f"{r.label}: {r.reason}" for r in failed)
        raise_alert(
            session=session,
            kind=AlertKind.CHECKIN_BLOCKED,
            reason=f"At-home check-in blocked. {reasons}",
            request=request,
        )
    return checkin


@transaction.atomic
def mark_taken(*, session: HomeSession, request: HttpRequest | None = None) -> HomeSession:
    session = _locked_session(session)
    if session.state != SessionState.OPEN:
        raise AtHomeError("session", "Only an open session, after a passed check-in, can be taken.")
    if _expire_if_stale(session, request):
        return session
    protocol = protocol_of(session.prescription.plan)
    _refuse_if_record_forbids(session.patient, protocol)
    take_home = take_home_of(protocol)
    now = timezone.now()
    session.state, session.taken_at = SessionState.TAKEN, now
    session.lozenges = session.prescription.lozenges_per_session
    session.dose_mg = session.prescription.dose_mg
    session.checkin_due_at = now + timedelta(hours=take_home.post_session_checkin_hours.value)
    session.save(update_fields=["state", "taken_at", "lozenges", "dose_mg", "checkin_due_at"])
    _audit(request, session, session, step="taken", dose_mg=str(session.dose_mg))
    return session


# ---- post-session check-in -------------------------------------------------------------------


@dataclass(frozen=True)
class PostAnswers:
    side_effects: list[str]
    worst_severity: int
    side_effect_notes: str
    detached_score: int
    unreal_score: int
    still_dissociated: bool
    feels_safe: bool
    systolic: int | None
    diastolic: int | None
    monitor_concerned: bool
    monitor_observation: str


def post_flags(
    answers: PostAnswers, *, severe_level: int, dissociation_flag: int, bp: gate.BpLimits | None
) -> tuple[list[str], list[str]]:
    """(severe side effects, flagged answers) in plain words; empty lists mean no alert."""
    severe = []
    if answers.worst_severity >= severe_level:
        names = ", ".join(answers.side_effects) or "unnamed side effect"
        severe.append(f"{Severity(answers.worst_severity).label} side effects: {names}")
    flagged = []
    if max(answers.detached_score, answers.unreal_score) >= dissociation_flag:
        flagged.append(
            f"dissociation self-report at {max(answers.detached_score, answers.unreal_score)} of 4"
        )
    if answers.still_dissociated:
        flagged.append("still feels detached or unreal")
    if not answers.feels_safe:
        flagged.append("does not feel safe now")
    if answers.monitor_concerned:
        flagged.append("the monitor was concerned")
    if bp and answers.systolic is not None and answers.diastolic is not None:
        if answers.systolic > bp.systolic_max or answers.diastolic > bp.diastolic_max:
            flagged.append(
                f"blood pressure {answers.systolic}/{answers.diastolic} above {bp.systolic_max}/{bp.diastolic_max}"
            )
    return severe, flagged


def post_checkin_opens_at(session: HomeSession, protocol: Protocol) -> datetime | None:
    """When the post-session check-in may be answered: the protocol's observation time after
    the dose (the patient's state is only known once that time has passed)."""
    if session.taken_at is None:
        return None
    return session.taken_at + timedelta(minutes=protocol.monitoring.min_observation_minutes.value)


def _refuse_during_observation(session: HomeSession, protocol: Protocol) -> None:
    opens = post_checkin_opens_at(session, protocol)
    if opens is not None and timezone.now() < opens:
        raise AtHomeError(
            "session",
            "The post-session check-in opens at "
            f"{timezone.localtime(opens):%H:%M}, once your observation time has passed. "
            "Stay with your monitor until then.",
        )


def _post_protocol(session: HomeSession, answers: PostAnswers) -> Protocol:
    """The session's protocol, once its post-session check-in is due and has what the
    protocol asks for."""
    if session.state not in (SessionState.TAKEN, SessionState.MISSED):
        raise AtHomeError("session", "There is no post-session check-in due for this session.")
    protocol = protocol_of(session.prescription.plan)
    _refuse_during_observation(session, protocol)
    take_home = take_home_of(protocol)
    if take_home.bp_after_session and (answers.systolic is None or answers.diastolic is None):
        raise AtHomeError(
            "systolic", "Your plan asks for a blood pressure reading after the session."
        )
    return protocol


def _store_post(session: HomeSession, answers: PostAnswers, flags: list[str]) -> PostSessionCheckIn:
    return PostSessionCheckIn.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        side_effects=answers.side_effects,
        worst_severity=answers.worst_severity,
        side_effect_notes=answers.side_effect_notes.strip(),
        detached_score=answers.detached_score,
        unreal_score=answers.unreal_score,
        still_dissociated=answers.still_dissociated,
        feels_safe=answers.feels_safe,
        systolic=answers.systolic,
        diastolic=answers.diastolic,
        monitor_concerned=answers.monitor_concerned,
        monitor_observation=answers.monitor_observation.strip(),
        flags=flags,
    )


def _alert_severe(session: HomeSession, severe: list[str], request: HttpRequest | None) -> None:
    """Alert the clinic and ask the prescriber whether take-home dosing goes on."""
    alert, _ = raise_alert(
        session=session,
        kind=AlertKind.SEVERE_SIDE_EFFECT,
        reason="; ".join(severe),
        request=request,
    )
    # Whether take-home dosing should go on is the prescriber's decision, not the alert's.
    raise_review_task(
        patient=session.patient,
        kind=ReviewKind.HOME_SESSION,
        request=request,
        reason=f"Severe side effects after an at-home dose ({session.dose_mg} mg): {alert.reason}. "
        "Decide whether take-home dosing continues.",
        source_type="athome.HomeAlert",
        source_id=alert.pk,
    )


@transaction.atomic
def submit_post_checkin(
    *, session: HomeSession, answers: PostAnswers, request: HttpRequest | None = None
) -> PostSessionCheckIn:
    session = _locked_session(session)
    protocol = _post_protocol(session, answers)
    clinic = session.clinic
    severe, flagged = post_flags(
        answers,
        severe_level=S.SEVERE_SIDE_EFFECT.value(clinic),
        dissociation_flag=S.FLAG_DISSOCIATION.value(clinic),
        bp=home_bp_limits(clinic, protocol),
    )
    post = _store_post(session, answers, severe + flagged)
    session.state, session.ended_at = SessionState.CHECKED_OUT, timezone.now()
    session.save(update_fields=["state", "ended_at"])
    _audit(request, post, session, flags=len(severe + flagged))
    if severe:
        _alert_severe(session, severe, request)
    if flagged:
        raise_alert(
            session=session,
            kind=AlertKind.FLAGGED_ANSWER,
            reason="Post-session check-in: " + "; ".join(flagged),
            request=request,
        )
    return post


# ---- alerts ----------------------------------------------------------------------------------


def raise_alert(
    *, session: HomeSession, kind: AlertKind, reason: str, request: HttpRequest | None = None
) -> tuple[HomeAlert, bool]:
    """One alert per session and kind (idempotent); the clinic is emailed after commit."""
    with transaction.atomic():
        alert, created = HomeAlert.objects.get_or_create(
            session=session,
            kind=kind,
            defaults={
                "clinic_id": session.clinic_id,
                "patient_id": session.patient_id,
                "reason": reason,
            },
        )
        if created:
            audit.record(
                request=request,
                action=Action.CREATE,
                clinic_id=alert.clinic_id,
                patient_id=alert.patient_id,
                obj=alert,
                detail={"kind": str(kind), "session": session.pk},
            )
            transaction.on_commit(functools.partial(email_home_alert.enqueue, alert.pk))
    return alert, created


def alert_recipients(alert: HomeAlert) -> list[str]:
    """The patient's responsible clinician (else the medical director), and the clinic inbox."""
    clinician = alert.patient.responsible_clinician
    to = [clinician.email] if clinician is not None else director_emails(alert.clinic)
    return [*to, alert.clinic.email] if alert.clinic.email else to


@task()
def email_home_alert(alert_id: int) -> None:
    alert = HomeAlert.objects.select_related("clinic", "patient__responsible_clinician").get(
        pk=alert_id
    )
    link = settings.SITE_URL.rstrip("/") + reverse("athome:alerts")
    # No patient name in email: the link leads to the signed-in alert list.
    body = (
        f"A take-home session alert was raised at {alert.clinic.name}: {alert.get_kind_display()}.\n"
        f"{alert.reason}\nOpen it: {link}\n"
    )
    send_mail("KAT Clinic: take-home session alert", body, None, alert_recipients(alert))


def _locked_alert(alert: HomeAlert) -> HomeAlert:
    return HomeAlert.objects.select_for_update().get(pk=alert.pk)


@transaction.atomic
def acknowledge_alert(
    *, alert: HomeAlert, by: User, request: HttpRequest | None = None
) -> HomeAlert:
    return alert_steps.acknowledge(_locked_alert(alert), by=by, request=request)


@transaction.atomic
def close_alert(
    *, alert: HomeAlert, note: str, by: User, request: HttpRequest | None = None
) -> HomeAlert:
    return alert_steps.close(_locked_alert(alert), note=note, by=by, request=request)


def mark_missed_checkins(now: datetime | None = None) -> int:
    """Sessions whose post-session check-in is past due plus the clinic's grace: mark them
    missed and alert the clinic. Safe to run again: the state update is conditional."""
    now = now or timezone.now()
    count = 0
    due = HomeSession.objects.filter(
        state=SessionState.TAKEN, checkin_due_at__lt=now
    ).select_related("clinic")
    for session in due:
        grace = timedelta(hours=S.CHECKIN_GRACE_HOURS.value(session.clinic))
        if session.checkin_due_at is None or now < session.checkin_due_at + grace:
            continue
        with transaction.atomic():
            if not HomeSession.objects.filter(pk=session.pk, state=SessionState.TAKEN).update(
                state=SessionState.MISSED
            ):
                continue
            audit.record(
                request=None,
                action=Action.UPDATE,
                clinic_id=session.clinic_id,
                patient_id=session.patient_id,
                obj=session,
                detail={"step": "missed"},
            )
            due_local = timezone.localtime(session.checkin_due_at)
            raise_alert(
                session=session,
                kind=AlertKind.CHECKIN_MISSED,
                reason=f"No post-session check-in: it was due {due_local:%Y-%m-%d %H:%M %Z}.",
            )
            count += 1
    return count


@task()
def mark_missed_checkins_task() -> int:
    return mark_missed_checkins()


# ---- counts ----------------------------------------------------------------------------------


def _store_count(
    prescription: TakeHomePrescription, counted_remaining: int, note: str, by: User
) -> Reconciliation:
    """The count with what the records expect: dispensed less the sessions logged."""
    if counted_remaining < 0:
        raise AtHomeError("counted_remaining", "The count cannot be negative.")
    dispensed, logged = dispensed_total(prescription), sessions_logged(prescription)
    per = prescription.lozenges_per_session
    return Reconciliation.objects.create(
        clinic_id=prescription.clinic_id,
        patient_id=prescription.patient_id,
        prescription=prescription,
        counted_by=by,
        dispensed=dispensed,
        sessions_logged=logged,
        lozenges_per_session=per,
        counted_remaining=counted_remaining,
        discrepancy=dispensed - logged * per - counted_remaining,
        tolerance=S.COUNT_TOLERANCE.value(prescription.clinic),
        note=note.strip(),
    )


def _mismatch_reason(count: Reconciliation) -> str:
    discrepancy = count.discrepancy
    what = (
        "fewer lozenges than expected: possible diversion or unlogged doses"
        if discrepancy > 0
        else ("more lozenges than expected: possible missed doses or sessions logged but not taken")
    )
    return (
        f"Lozenge count at a visit: {count.dispensed} dispensed - {count.sessions_logged} "
        f"sessions x {count.lozenges_per_session} - {count.counted_remaining} "
        f"counted = {discrepancy} ({what})."
    )


@transaction.atomic
def reconcile(
    *,
    prescription: TakeHomePrescription,
    counted_remaining: int,
    note: str,
    by: User,
    request: HttpRequest | None = None,
) -> tuple[Reconciliation, bool]:
    """Count the lozenges the patient brought; a discrepancy past the clinic's tolerance opens a
    review task (possible diversion or missed doses). Returns the count and whether it did."""
    count = _store_count(prescription, counted_remaining, note, by)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=count.clinic_id,
        patient_id=count.patient_id,
        obj=count,
        detail={"discrepancy": count.discrepancy},
    )
    if not count.mismatch:
        return count, False
    raise_review_task(
        patient=prescription.patient,
        kind=ReviewKind.COUNT_MISMATCH,
        reason=_mismatch_reason(count),
        source_type="athome.Reconciliation",
        source_id=count.pk,
        request=request,
        user=by,
    )
    return count, True
