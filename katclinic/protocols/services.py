"""Writes to the protocol library and to treatment plans, each one transaction with its audit.

Other apps call `active_plan(patient)` and `plan_dose_limits(plan)` (the dosing app checks an
administration against them) and `exposure(plan, given)` for cumulative totals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.dosing.doses import administered_doses
from katclinic.lib.jsonvalue import JSONValue
from katclinic.measures.services import schedule_from_protocol
from katclinic.patients.models import Patient, WeightReading
from katclinic.protocols import readiness
from katclinic.protocols.clinic_settings import OPEN_ENDED_DOSES, WEIGHT_MAX_AGE_DAYS
from katclinic.protocols.dosing import (
    MG_STEP,
    DoseCalculation,
    DoseError,
    compute_dose,
    cumulative_mg,
    round_half_up,
    weight_is_stale,
)
from katclinic.protocols.models import (
    AmendmentKind,
    EligibilityReview,
    Plan,
    PlannedDose,
    PlanStatus,
    PlanVersion,
    ProtocolStatus,
    ProtocolVersion,
    forget_protocol,
)
from katclinic.protocols.scheduling import ScheduleError, propose_schedule
from katclinic.protocols.schema import (
    Protocol,
    ProtocolError,
    SourcedDecimal,
    load_library,
    load_protocol,
)
from katclinic.scheduling.hours import clinic_hours, clinic_tz, session_lengths


class PlanError(ValueError):
    """A plan change that cannot be made, in words a prescriber can act on."""


# ---- protocol library -------------------------------------------------------------------


def _as_json(protocol: Protocol) -> dict[str, JSONValue]:
    return json.loads(protocol.model_dump_json())


@transaction.atomic
def load_shipped_protocols(*, clinic: Clinic, by: User | None = None) -> list[ProtocolVersion]:
    """Put every shipped protocol the clinic lacks into its library, active. Idempotent:
    a key the clinic already has (any version) is left alone."""
    have = set(ProtocolVersion.objects.for_clinic(clinic).values_list("key", flat=True))
    added = []
    for key, protocol in sorted(load_library().items()):
        if key in have:
            continue
        row = ProtocolVersion.objects.create(
            clinic=clinic,
            key=key,
            version=protocol.version,
            title=protocol.title,
            route=protocol.route,
            status=ProtocolStatus.ACTIVE,
            data=_as_json(protocol),
            created_by=by,
            change_note="Shipped with KAT Clinic",
            shipped_version=protocol.version,
        )
        audit.record(
            request=None,
            user=by,
            action=Action.CREATE,
            clinic_id=clinic.pk,
            obj=row,
            detail={"key": key, "version": row.version, "shipped": True},
        )
        added.append(row)
    return added


def parse_protocol_text(text: str) -> Protocol:
    """Validate pasted JSON; raise ProtocolError naming each bad field."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ProtocolError("(form)", [f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
    if not isinstance(data, dict):
        raise ProtocolError("(form)", ["(protocol): must be a JSON object"])
    return load_protocol(data)


@transaction.atomic
def create_protocol_version(
    *,
    clinic: Clinic,
    text: str,
    note: str,
    activate: bool,
    by: User,
    request: HttpRequest | None = None,
) -> ProtocolVersion:
    """Store an edited protocol as the next version of its key; nothing stored when invalid.

    The version number is assigned here (one above the clinic's highest for the key), so an
    edit never overwrites a version a plan may rely on.
    """
    protocol = parse_protocol_text(text)
    return _store_version(
        clinic=clinic, protocol=protocol, note=note, activate=activate, by=by, request=request
    )


def _store_version(
    *,
    clinic: Clinic,
    protocol: Protocol,
    note: str,
    activate: bool,
    by: User,
    request: HttpRequest | None,
    shipped_version: int | None = None,
    detail: Mapping[str, object] | None = None,
) -> ProtocolVersion:
    """Insert `protocol` as the clinic's next version of its key (never an update), with its
    audit event; activating retires the key's active version (its data stays as it was)."""
    highest = ProtocolVersion.objects.filter(clinic=clinic, key=protocol.key).aggregate(
        m=Max("version")
    )["m"]
    number = (highest or 0) + 1
    protocol = protocol.model_copy(update={"version": number})
    if activate:
        ProtocolVersion.objects.filter(
            clinic=clinic, key=protocol.key, status=ProtocolStatus.ACTIVE
        ).update(status=ProtocolStatus.RETIRED)
    row = ProtocolVersion.objects.create(
        clinic=clinic,
        key=protocol.key,
        version=number,
        title=protocol.title,
        route=protocol.route,
        status=ProtocolStatus.ACTIVE if activate else ProtocolStatus.DRAFT,
        data=_as_json(protocol),
        created_by=by,
        change_note=note.strip(),
        shipped_version=shipped_version,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        obj=row,
        detail={
            "key": row.key,
            "version": number,
            "status": row.status,
            "note": row.change_note,
            **(detail or {}),
        },
    )
    return row


@transaction.atomic
def set_protocol_status(
    *, version: ProtocolVersion, status: str, by: User, request: HttpRequest | None = None
) -> ProtocolVersion:
    """Activate (retiring the key's other active version) or retire a version. Data never changes."""
    if status not in ProtocolStatus.values:
        raise PlanError(f"unknown status {status!r}")
    previous = version.status
    if status == ProtocolStatus.ACTIVE:
        ProtocolVersion.objects.filter(
            clinic=version.clinic, key=version.key, status=ProtocolStatus.ACTIVE
        ).exclude(pk=version.pk).update(status=ProtocolStatus.RETIRED)
    ProtocolVersion.objects.filter(pk=version.pk).update(status=status)
    version.status = status
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=version.clinic_id,
        obj=version,
        detail={"status": [previous, status]},
    )
    return version


@transaction.atomic
def edit_protocol_draft(
    *, version: ProtocolVersion, text: str, by: User, request: HttpRequest | None = None
) -> ProtocolVersion:
    """Change a draft version's data in place; refused once it is active or used by a plan."""
    if version.status != ProtocolStatus.DRAFT or version.plans.exists():
        raise PlanError("only an unused draft can be edited; create a new version instead")
    protocol = parse_protocol_text(text)
    if protocol.key != version.key:
        raise ProtocolError("(form)", [f"key: must stay {version.key!r}"])
    protocol = protocol.model_copy(update={"version": version.version})
    ProtocolVersion.objects.filter(pk=version.pk).update(
        data=_as_json(protocol), title=protocol.title
    )
    forget_protocol(version.pk)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=version.clinic_id,
        obj=version,
        detail={"data": "replaced"},
    )
    return ProtocolVersion.objects.get(pk=version.pk)


# ---- plans -------------------------------------------------------------------------------


def latest_weight(patient: Patient) -> WeightReading | None:
    return patient.weights.order_by("-measured_on", "-recorded_at").first()


def weight_max_age_days(clinic: Clinic) -> int:
    return WEIGHT_MAX_AGE_DAYS.value(clinic)


@dataclass(frozen=True)
class SizedDose:
    calculation: DoseCalculation
    min_mg: Decimal
    max_mg: Decimal
    weight: WeightReading
    stale: bool


def _limit_mg(protocol: Protocol, bound: SourcedDecimal, weight_kg: Decimal) -> Decimal:
    """A limit in mg for this weight, rounded as the dose is (dosing.py's rule)."""
    if protocol.dose_rule.basis == "fixed_mg":
        return bound.value
    return round_half_up(bound.value * round_half_up(weight_kg, Decimal("0.1")), MG_STEP)


def size_dose(
    *,
    protocol: Protocol,
    patient: Patient,
    on: date,
    requested_mg: Decimal | None,
    soft_reason: str,
) -> SizedDose:
    """The dose for this patient under `protocol`, with its arithmetic; raise PlanError naming
    the limit when it must not be given, or when a soft limit lacks a written reason."""
    weight = latest_weight(patient)
    if weight is None:
        raise PlanError("No weight on record: record one before planning a dose.")
    try:
        calc = compute_dose(
            protocol,
            weight_kg=weight.weight_kg,
            age_years=patient.age_on(on),
            requested_mg=requested_mg,
        )
        calc.confirm(soft_reason)
    except DoseError as exc:
        raise PlanError(str(exc)) from None
    limits = protocol.limits
    today = max(timezone.localdate(), weight.measured_on)
    stale = weight_is_stale(weight.measured_on, today, weight_max_age_days(patient.clinic))
    return SizedDose(
        calc,
        _limit_mg(protocol, limits.hard_min, weight.weight_kg),
        _limit_mg(protocol, limits.hard_max, weight.weight_kg),
        weight,
        stale,
    )


def _planned_dates(
    *, version: PlanVersion, protocol: Protocol, previous: PlanVersion | None
) -> list[tuple[str, date]]:
    """(phase, date) of each dose this version intends."""
    if version.kind in (AmendmentKind.PAUSE, AmendmentKind.STOP):
        return []
    if version.kind == AmendmentKind.BOOSTER:
        return [(version.phase, version.start_on)]
    if version.kind == AmendmentKind.TITRATION and previous is not None:
        return [
            (d.phase, d.planned_on) for d in previous.doses.filter(planned_on__gte=version.start_on)
        ]
    clinic = version.clinic
    try:
        proposal = propose_schedule(
            protocol,
            start=version.start_on,
            first_phase=version.phase,
            clinic_hours=clinic_hours(clinic),
            tz=clinic_tz(clinic),
            session_minutes=session_lengths(clinic),
            max_doses=OPEN_ENDED_DOSES.value(clinic)
            if protocol.phase(version.phase).open_ended
            else None,
            include_preparation=False,
        )
    except ScheduleError as exc:
        raise PlanError(
            f"Cannot lay out the doses: {exc}. Check the clinic's opening hours."
        ) from None
    tz = clinic_tz(clinic)
    return [(p.phase, p.start.astimezone(tz).date()) for p in proposal if p.kind == "dosing"]


def _fill_version(version: PlanVersion, sized: SizedDose, soft_reason: str) -> None:
    calc = sized.calculation
    version.weight_kg = calc.weight_kg
    version.weight_measured_on = sized.weight.measured_on
    version.weight_was_stale = sized.stale
    version.dose_mg, version.min_mg, version.max_mg = calc.dose_mg, sized.min_mg, sized.max_mg
    version.soft_limit = calc.soft_limit or ""
    version.soft_limit_reason = soft_reason.strip() if calc.soft_limit else ""
    version.arithmetic = list(calc.lines)
    version.volume_ml, version.duration_minutes = calc.volume_ml, calc.duration_minutes
    version.rate_mg_per_min, version.rate_mg_per_h = calc.rate_mg_per_min, calc.rate_mg_per_h
    version.devices = calc.devices


def _write_doses(version: PlanVersion, protocol: Protocol, previous: PlanVersion | None) -> None:
    version.doses.all().delete()
    dates = _planned_dates(version=version, protocol=protocol, previous=previous)
    PlannedDose.objects.bulk_create(
        PlannedDose(
            clinic_id=version.clinic_id,
            plan_id=version.plan_id,
            version=version,
            number=i,
            phase=phase,
            planned_on=day,
            dose_mg=version.dose_mg,
        )
        for i, (phase, day) in enumerate(dates, start=1)
    )


def _require_ready(
    patient: Patient, route: str, eligibility_reason: str
) -> list[readiness.ReadinessItem]:
    """Consent and eligibility for `route`; raise PlanError naming the field when they block."""
    items = readiness.check(patient, route=route, review_reason=eligibility_reason)
    for item in items:
        if item.state == "ok":
            continue
        field = "eligibility_reason" if item.state == "review" else item.key
        raise PlanError(f"{field}: {item.detail}")
    return items


def review_reason(version: PlanVersion) -> str:
    """The prescriber's written reason to treat on a needs-review decision, or empty."""
    review = EligibilityReview.objects.filter(version=version).first()
    return review.reason if review else ""


def _record_review(version: PlanVersion, reason: str, by: User) -> None:
    """Keep the reason (who and when) with the version; the caller's audit event carries it."""
    if reason.strip():
        EligibilityReview.objects.create(
            clinic_id=version.clinic_id, version=version, reason=reason.strip(), recorded_by=by
        )


def _copy_review(source: PlanVersion, target: PlanVersion) -> None:
    """An amendment keeps the review reason of the version it amends, with its author."""
    review = EligibilityReview.objects.filter(version=source).first()
    if review is not None:
        EligibilityReview.objects.create(
            clinic_id=target.clinic_id,
            version=target,
            reason=review.reason,
            recorded_by=review.recorded_by,
            recorded_at=review.recorded_at,
        )


def _check_phase(protocol: Protocol, phase: str) -> None:
    if phase != "booster" and phase not in {p.key for p in protocol.phases}:
        raise PlanError(f"phase: protocol {protocol.key} has no phase {phase!r}")


@transaction.atomic
def create_plan(
    *,
    patient: Patient,
    protocol_version: ProtocolVersion,
    phase: str,
    start_on: date,
    requested_mg: Decimal | None,
    soft_reason: str = "",
    eligibility_reason: str = "",
    by: User,
    request: HttpRequest | None = None,
) -> PlanVersion:
    """Draft a new plan (version 1, unsigned) for an eligible, consented patient.

    A signed "needs review" decision needs `eligibility_reason`, the prescriber's written
    reason to go ahead; it is stored on the version and in the audit event."""
    if (
        protocol_version.clinic_id != patient.clinic_id
        or protocol_version.status != ProtocolStatus.ACTIVE
    ):
        raise PlanError("protocol: choose an active protocol of this clinic")
    items = _require_ready(patient, protocol_version.route, eligibility_reason)
    protocol = protocol_version.protocol
    _check_phase(protocol, phase)
    sized = size_dose(
        protocol=protocol,
        patient=patient,
        on=start_on,
        requested_mg=requested_mg,
        soft_reason=soft_reason,
    )
    plan = Plan.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        protocol_version=protocol_version,
        created_by=by,
    )
    version = PlanVersion(
        clinic_id=patient.clinic_id,
        plan=plan,
        number=1,
        kind=AmendmentKind.INITIAL,
        phase=phase,
        start_on=start_on,
        created_by=by,
        readiness=[i.as_dict() for i in items],
    )
    _fill_version(version, sized, soft_reason)
    version.save()
    _record_review(version, eligibility_reason, by)
    _write_doses(version, protocol, None)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=version,
        detail={
            "plan": plan.pk,
            "dose_mg": str(version.dose_mg),
            "eligibility_reason": eligibility_reason.strip(),
        },
    )
    return version


def _require_draft(version: PlanVersion) -> None:
    if version.is_signed:
        raise PlanError("This version is signed and can no longer change; amend the plan instead.")


@transaction.atomic
def edit_draft(
    *,
    version: PlanVersion,
    phase: str,
    start_on: date,
    requested_mg: Decimal | None,
    soft_reason: str = "",
    reason: str = "",
    by: User,
    request: HttpRequest | None = None,
) -> PlanVersion:
    version = (
        PlanVersion.objects.select_for_update(of=("self",))
        .select_related("plan__patient", "plan__protocol_version")
        .get(pk=version.pk)
    )
    _require_draft(version)
    plan = version.plan
    protocol = plan.protocol_version.protocol
    _check_phase(protocol, phase)
    if version.kind != AmendmentKind.INITIAL and not reason.strip():
        raise PlanError("reason: an amendment needs a written reason")
    sized = size_dose(
        protocol=protocol,
        patient=plan.patient,
        on=start_on,
        requested_mg=requested_mg,
        soft_reason=soft_reason,
    )
    version.phase, version.start_on, version.reason = phase, start_on, reason.strip()
    _fill_version(version, sized, soft_reason)
    version.save()
    _write_doses(version, protocol, _previous(version))
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=version.clinic_id,
        patient_id=plan.patient_id,
        obj=version,
        detail={"dose_mg": str(version.dose_mg)},
    )
    return version


def _previous(version: PlanVersion) -> PlanVersion | None:
    return (
        version.plan.versions.filter(number__lt=version.number, signed_at__isnull=False)
        .order_by("-number")
        .first()
    )


def _next_status(version: PlanVersion) -> str:
    return {AmendmentKind.PAUSE: PlanStatus.PAUSED, AmendmentKind.STOP: PlanStatus.STOPPED}.get(
        AmendmentKind(version.kind), PlanStatus.ACTIVE
    )


@transaction.atomic
def amend_plan(
    *,
    plan: Plan,
    kind: str,
    reason: str,
    requested_mg: Decimal | None,
    phase: str | None,
    start_on: date,
    soft_reason: str = "",
    by: User,
    request: HttpRequest | None = None,
) -> PlanVersion:
    """Draft an amendment (titration, phase change, booster, pause, resume, stop) as a new version."""
    plan = (
        Plan.objects.select_for_update(of=("self",))
        .select_related("patient", "protocol_version")
        .get(pk=plan.pk)
    )
    current = plan.current_version()
    if current is None:
        raise PlanError("Sign the first version before amending the plan.")
    if plan.versions.filter(signed_at__isnull=True).exists():
        raise PlanError("This plan already has an unsigned draft: sign or edit it first.")
    if kind not in AmendmentKind.values or kind == AmendmentKind.INITIAL:
        raise PlanError(f"kind: {kind!r} is not an amendment")
    if plan.status == PlanStatus.STOPPED:
        raise PlanError("This plan is stopped; start a new plan instead.")
    if not reason.strip():
        raise PlanError("reason: an amendment needs a written reason")
    protocol = plan.protocol_version.protocol
    phase = phase or current.phase
    if kind == AmendmentKind.BOOSTER:
        phase = "booster"
    _check_phase(protocol, phase)
    keep_dose = kind in (AmendmentKind.PAUSE, AmendmentKind.STOP) and requested_mg is None
    sized = size_dose(
        protocol=protocol,
        patient=plan.patient,
        on=start_on,
        requested_mg=current.dose_mg if keep_dose else requested_mg,
        soft_reason=soft_reason or current.soft_limit_reason,
    )
    number = current.number + 1
    version = PlanVersion(
        clinic_id=plan.clinic_id,
        plan=plan,
        number=number,
        kind=kind,
        reason=reason.strip(),
        phase=phase,
        start_on=start_on,
        created_by=by,
        readiness=current.readiness,
    )
    _fill_version(version, sized, soft_reason or current.soft_limit_reason)
    version.save()
    _copy_review(current, version)
    _write_doses(version, protocol, current)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=plan.clinic_id,
        patient_id=plan.patient_id,
        obj=version,
        detail={"kind": kind, "reason": version.reason, "dose_mg": str(version.dose_mg)},
    )
    return version


def frozen_content(
    version: PlanVersion, *, signer: User, signed_at: datetime
) -> dict[str, JSONValue]:
    """Everything a signature covers, as plain JSON values."""
    pv = version.plan.protocol_version
    fields = [
        "number",
        "kind",
        "reason",
        "phase",
        "start_on",
        "weight_kg",
        "weight_measured_on",
        "weight_was_stale",
        "dose_mg",
        "min_mg",
        "max_mg",
        "soft_limit",
        "soft_limit_reason",
        "arithmetic",
        "volume_ml",
        "duration_minutes",
        "rate_mg_per_min",
        "rate_mg_per_h",
        "devices",
    ]
    content: dict[str, JSONValue] = {name: _plain(getattr(version, name)) for name in fields}
    content |= {
        "plan": version.plan_id,
        "patient": version.plan.patient_id,
        "clinic": version.clinic_id,
        "protocol": {
            "key": pv.key,
            "version": pv.version,
            "sha256": hashlib.sha256(json.dumps(pv.data, sort_keys=True).encode()).hexdigest(),
        },
        "doses": [
            [d.number, d.phase, d.planned_on.isoformat(), str(d.dose_mg)]
            for d in version.doses.order_by("number")
        ],
        "signed_by": signer.pk,
        "signed_at": signed_at.isoformat(),
    }
    return content


def _plain(value: object) -> JSONValue:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | list | dict):
        return value
    raise TypeError(f"a signed plan holds no {type(value).__name__}")


def content_digest(content: Mapping[str, JSONValue]) -> str:
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def weight_is_stale_now(version: PlanVersion) -> bool:
    """Whether the version's weight is older than the clinic allows, as of today."""
    today = max(timezone.localdate(), version.weight_measured_on)
    max_age = weight_max_age_days(version.plan.patient.clinic)
    return version.weight_was_stale or weight_is_stale(version.weight_measured_on, today, max_age)


def _check_before_signing(version: PlanVersion, acknowledge_stale_weight: bool) -> bool:
    """Refuse a signature the record does not support; True when a stale weight is signed."""
    _require_draft(version)
    if version.kind not in (AmendmentKind.PAUSE, AmendmentKind.STOP):
        patient = version.plan.patient
        _require_ready(patient, version.plan.protocol_version.route, review_reason(version))
    stale = weight_is_stale_now(version)
    if stale and not acknowledge_stale_weight:
        raise PlanError(
            f"acknowledge_stale_weight: the weight of {version.weight_kg} kg was measured on "
            f"{version.weight_measured_on:%Y-%m-%d}, more than "
            f"{weight_max_age_days(version.plan.patient.clinic)} days ago. Record a new weight, "
            "or confirm that you sign with this weight."
        )
    return stale


@transaction.atomic
def sign_plan(
    *,
    version: PlanVersion,
    prescriber: User,
    acknowledge_stale_weight: bool = False,
    request: HttpRequest | None = None,
) -> PlanVersion:
    """Freeze a draft: who, when, and the SHA-256 of its content; the plan takes its status.

    Refused (PlanError naming the field) when consent or eligibility for the plan's route
    blocks, or when the weight is stale and the prescriber has not acknowledged it."""
    version = (
        PlanVersion.objects.select_for_update(of=("self",))
        .select_related("plan__protocol_version", "plan__patient__clinic")
        .get(pk=version.pk)
    )
    stale = _check_before_signing(version, acknowledge_stale_weight)
    now = timezone.now()
    digest = content_digest(frozen_content(version, signer=prescriber, signed_at=now))
    PlanVersion.objects.filter(pk=version.pk).update(
        signed_by=prescriber,
        signed_at=now,
        content_hash=digest,
        stale_weight_acknowledged_at=now if stale else None,
    )
    status = _next_status(version)
    Plan.objects.filter(pk=version.plan_id).update(status=status)
    audit.record(
        request=request,
        user=prescriber,
        action=Action.SIGN,
        clinic_id=version.clinic_id,
        patient_id=version.plan.patient_id,
        obj=version,
        detail={"sha256": digest, "stale_weight_acknowledged": stale},
    )
    if status == PlanStatus.ACTIVE and _previous(version) is None:
        _start_measurements(version.plan, prescriber, request)
    return PlanVersion.objects.select_related("plan").get(pk=version.pk)


def _start_measurements(plan: Plan, by: User, request: HttpRequest | None) -> None:
    """A plan signed for the first time puts its protocol's measurement schedule in place."""
    schedule_from_protocol(
        patient=plan.patient,
        measurements=list(plan.protocol_version.protocol.measurements),
        by=by,
        request=request,
    )


def verify_signature(version: PlanVersion) -> bool:
    """True when the stored content still matches the digest taken at signing."""
    if not version.is_signed or version.signed_by is None or version.signed_at is None:
        return False
    content = frozen_content(version, signer=version.signed_by, signed_at=version.signed_at)
    return content_digest(content) == version.content_hash


# ---- reads for other apps ------------------------------------------------------------------


def active_plan(patient: Patient) -> Plan | None:
    """The patient's plan that doses may be given under (signed and active), newest first."""
    return (
        Plan.objects.filter(patient=patient, clinic_id=patient.clinic_id, status=PlanStatus.ACTIVE)
        .select_related("protocol_version")
        .first()
    )


def plan_dose_limits(plan: Plan) -> tuple[Decimal, Decimal, Decimal]:
    """(hard minimum mg, hard maximum mg, planned mg) of the plan's current signed version."""
    version = plan.current_version()
    if version is None:
        raise PlanError("the plan has no signed version")
    return version.min_mg, version.max_mg, version.dose_mg


@dataclass(frozen=True)
class Exposure:
    course_mg: Decimal
    last_12_months_mg: Decimal
    planned_course_mg: Decimal


def exposure(plan: Plan, given: list[tuple[datetime, Decimal]] | None = None) -> Exposure:
    """Mg given in clinic under this plan: the course, and the part in the last 12 months.

    The patient's whole exposure (every plan, route and take-home dose) is
    `katclinic.surveillance.exposure`; this is the plan's own share, shown beside its doses.
    """
    given = administered_doses(plan) if given is None else given
    now = timezone.now()
    start = datetime.combine(plan.created_at.date(), time(0), tzinfo=plan.created_at.tzinfo)
    course = cumulative_mg(
        given, min(start, now - timedelta(seconds=1)), now + timedelta(seconds=1)
    )
    year = cumulative_mg(given, now - timedelta(days=365), now + timedelta(seconds=1))
    current = plan.current_version()
    planned = sum((d.dose_mg for d in current.doses.all()), Decimal(0)) if current else Decimal(0)
    return Exposure(course, year, planned)
