"""The pre-dose gate: may this patient be dosed now?

``evaluate_gate`` turns plain facts about the session into one item per
required check. A failing hard stop blocks dosing outright; a failing soft
stop blocks until a prescriber overrides it with a written reason.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

StopKind = Literal["hard", "soft"]
CheckResult = Literal["pass", "fail", "not_applicable"]
PregnancyStatus = Literal["not_pregnant", "pregnant", "unknown", "not_applicable"]

OVERRIDE_ROLE = "prescriber"

# Checks that no override may waive, so they can never be configured soft:
# the SPRAVATO REMS (FDA) requires the patient to be enrolled, and
# dosing without current consent is not a clinical judgement call.
ALWAYS_HARD = frozenset({"consent_current", "eligibility_current", "rems_enrolled"})


class GateConfigError(ValueError):
    """The clinic's gate configuration is not usable."""


class OverrideRefused(ValueError):
    """An override that the gate rules do not allow."""


@dataclass(frozen=True)
class VitalLimits:
    """Pre-dose limits: dosing needs values at or inside each one."""

    systolic_max: int
    diastolic_max: int
    heart_rate_max: int
    spo2_min: int
    source: str


DEFAULT_PRE_DOSE_LIMITS = VitalLimits(
    # ≤140/90: suggested default attributed to Sanacora 2017, not confirmed - unverified.
    systolic_max=140,
    diastolic_max=90,
    # Mirrors the unverified HR >110 stop figure: no sense starting above it.
    heart_rate_max=110,
    spo2_min=92,  # clinic choice; no published figure
    source=(
        "BP 140/90 and HR 110: suggested defaults attributed to the APA consensus "
        "(Sanacora G et al., JAMA Psychiatry 2017;74(4):399-405, https://doi.org/10.1001/jamapsychiatry.2016.4513), not confirmed "
        "in the paper, so unverified; SpO2 92: clinic choice; no published figure"
    ),
)


@dataclass(frozen=True)
class PreDoseVitals:
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int


@dataclass(frozen=True)
class GateFacts:
    """What the service layer knows about the session when dosing is asked for.

    Protocol values (interval, fasting hours) are ``None`` when the protocol
    sets no such rule; times are ``None`` when nothing was recorded.
    """

    consent_current: bool
    plan_signed: bool
    eligibility_current: bool
    last_dose_at: datetime | None
    min_interval_hours: float | None
    vitals: PreDoseVitals | None
    questionnaires_done: bool
    open_safety_alerts: Sequence[str]
    last_food_at: datetime | None
    last_liquid_at: datetime | None
    fasting_food_hours: float | None
    fasting_liquid_hours: float | None
    escort_confirmed: bool
    pregnancy_status: PregnancyStatus
    is_intranasal_esketamine: bool
    rems_enrolled: bool
    concomitant_meds_reviewed: bool
    # An insured esketamine session: does a valid prior authorization cover it?
    prior_authorization_valid: bool = True


@dataclass(frozen=True)
class Override:
    by_role: str
    reason: str


@dataclass(frozen=True)
class GateItem:
    key: str
    label: str
    stop: StopKind
    result: CheckResult
    reason: str
    override: Override | None = None

    @property
    def blocks(self) -> bool:
        if self.result != "fail":
            return False
        return self.stop == "hard" or self.override is None


@dataclass(frozen=True)
class GateResult:
    items: tuple[GateItem, ...]
    evaluated_at: datetime
    limits_source: str = ""

    @property
    def can_dose(self) -> bool:
        return not any(item.blocks for item in self.items)

    @property
    def blocking(self) -> tuple[GateItem, ...]:
        return tuple(item for item in self.items if item.blocks)

    def item(self, key: str) -> GateItem:
        for candidate in self.items:
            if candidate.key == key:
                return candidate
        raise KeyError(key)


Outcome = tuple[CheckResult, str]
Check = Callable[[GateFacts, VitalLimits, datetime], Outcome]


def _flag(ok: bool, passed: str, failed: str) -> Outcome:
    return ("pass", passed) if ok else ("fail", failed)


def _consent(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(facts.consent_current, "Consent is current.", "No current consent on file.")


def _eligibility(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(
        facts.eligibility_current,
        "A signed eligibility decision allows this route.",
        "No signed eligibility decision allows this route.",
    )


def _plan(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(facts.plan_signed, "Treatment plan is signed.", "Treatment plan is not signed.")


def _hours(value: timedelta) -> str:
    return f"{value.total_seconds() / 3600:.1f} h"


def _interval(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    if facts.min_interval_hours is None:
        return "not_applicable", "The protocol sets no minimum interval between doses."
    if facts.last_dose_at is None:
        return "pass", "No previous dose recorded."
    needed = timedelta(hours=facts.min_interval_hours)
    since = now - facts.last_dose_at
    return _flag(
        since >= needed,
        f"{_hours(since)} since the last dose (minimum {_hours(needed)}).",
        f"Only {_hours(since)} since the last dose; the protocol needs {_hours(needed)}.",
    )


def _vitals(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    v = facts.vitals
    if v is None:
        return "fail", "No pre-dose vital signs recorded."
    problems = []
    if v.systolic > limits.systolic_max or v.diastolic > limits.diastolic_max:
        problems.append(
            f"BP {v.systolic}/{v.diastolic} above {limits.systolic_max}/{limits.diastolic_max}"
        )
    if v.heart_rate > limits.heart_rate_max:
        problems.append(f"HR {v.heart_rate} above {limits.heart_rate_max}")
    if v.spo2 < limits.spo2_min:
        problems.append(f"SpO2 {v.spo2}% below {limits.spo2_min}%")
    if problems:
        return "fail", "; ".join(problems) + "."
    return (
        "pass",
        f"BP {v.systolic}/{v.diastolic}, HR {v.heart_rate}, SpO2 {v.spo2}% within limits.",
    )


def _questionnaires(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(
        facts.questionnaires_done,
        "Pre-dose questionnaires are complete.",
        "Pre-dose questionnaires are not complete.",
    )


def _safety_alerts(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    alerts = list(facts.open_safety_alerts)
    return _flag(not alerts, "No open safety alerts.", "Open safety alerts: " + "; ".join(alerts))


def _since(label: str, last: datetime | None, hours: float, now: datetime) -> str | None:
    """A problem description, or ``None`` when the fast was long enough."""
    needed = timedelta(hours=hours)
    if last is None:
        return f"time of last {label} not recorded (needs {_hours(needed)})"
    if now - last < needed:
        return f"last {label} {_hours(now - last)} ago (needs {_hours(needed)})"
    return None


def _fasting(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    rules = [("food", facts.last_food_at, facts.fasting_food_hours)]
    rules.append(("liquids", facts.last_liquid_at, facts.fasting_liquid_hours))
    active = [(label, last, hours) for label, last, hours in rules if hours is not None]
    if not active:
        return "not_applicable", "The protocol sets no fasting rule."
    problems = [p for label, last, hours in active if (p := _since(label, last, hours, now))]
    if problems:
        return "fail", "Fasting not met: " + "; ".join(problems) + "."
    return "pass", "Fasting rule met."


def _escort(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(facts.escort_confirmed, "Escort home is confirmed.", "No escort home confirmed.")


_PREGNANCY: dict[PregnancyStatus, Outcome] = {
    "not_pregnant": ("pass", "Not pregnant."),
    "pregnant": ("fail", "Patient is pregnant."),
    "unknown": ("fail", "Pregnancy status not recorded."),
    "not_applicable": ("not_applicable", "Pregnancy status does not apply."),
}


def _pregnancy(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _PREGNANCY[facts.pregnancy_status]


def _rems(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    if not facts.is_intranasal_esketamine:
        return "not_applicable", "REMS applies only to intranasal esketamine."
    return _flag(
        facts.rems_enrolled,
        "Patient is enrolled in the Spravato REMS.",
        "Patient is not enrolled in the Spravato REMS.",
    )


def _concomitant(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(
        facts.concomitant_meds_reviewed,
        "Concomitant medications reviewed.",
        "Concomitant medications have not been reviewed.",
    )


def _prior_authorization(facts: GateFacts, limits: VitalLimits, now: datetime) -> Outcome:
    return _flag(
        facts.prior_authorization_valid,
        "A valid prior authorization covers this session.",
        "No valid prior authorization covers this insured session.",
    )


# key -> (label, check), in the order staff work through them.
CHECKS: Mapping[str, tuple[str, Check]] = {
    "consent_current": ("Consent current", _consent),
    "eligibility_current": ("Eligibility signed for this route", _eligibility),
    "plan_signed": ("Treatment plan signed", _plan),
    "interval_respected": ("Minimum interval since last dose", _interval),
    "vitals_within_limits": ("Pre-dose vitals within limits", _vitals),
    "questionnaires_done": ("Questionnaires done", _questionnaires),
    "no_open_safety_alert": ("No open safety alert", _safety_alerts),
    "fasting": ("Fasting", _fasting),
    "escort_confirmed": ("Escort confirmed", _escort),
    "pregnancy_status": ("Pregnancy status", _pregnancy),
    "rems_enrolled": ("REMS enrolment", _rems),
    "concomitant_meds_reviewed": ("Concomitant medications reviewed", _concomitant),
    "prior_authorization": ("Prior authorization", _prior_authorization),
}


def _validate_config(required_checks: Mapping[str, StopKind]) -> None:
    unknown = sorted(set(required_checks) - set(CHECKS))
    if unknown:
        raise GateConfigError(f"Unknown gate checks: {', '.join(unknown)}.")
    for key, stop in required_checks.items():
        if stop not in ("hard", "soft"):
            raise GateConfigError(f"{key}: stop must be 'hard' or 'soft', not {stop!r}.")
        if key in ALWAYS_HARD and stop != "hard":
            raise GateConfigError(f"{key} must be a hard stop; it cannot be overridden.")


def evaluate_gate(
    facts: GateFacts,
    *,
    required_checks: Mapping[str, StopKind],
    limits: VitalLimits,
    now: datetime,
) -> GateResult:
    """Run every check the protocol requires and report each with its reason."""
    moments = {"now": now, "last_dose_at": facts.last_dose_at}
    moments |= {"last_food_at": facts.last_food_at, "last_liquid_at": facts.last_liquid_at}
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime.")
    _validate_config(required_checks)
    items = []
    for key, (label, check) in CHECKS.items():
        if key not in required_checks:
            continue
        result, reason = check(facts, limits, now)
        items.append(GateItem(key, label, required_checks[key], result, reason))
    return GateResult(items=tuple(items), evaluated_at=now, limits_source=limits.source)


def apply_override(result: GateResult, key: str, *, by_role: str, reason: str) -> GateResult:
    """Return a new result with the soft stop ``key`` overridden.

    Only a prescriber may override, only a failing soft stop, and only with a
    written reason; anything else raises ``OverrideRefused``.
    """
    try:
        target = result.item(key)
    except KeyError:
        raise OverrideRefused(f"No gate check {key!r} in this result.") from None
    if target.result != "fail":
        raise OverrideRefused(f"{target.label} did not fail, so there is nothing to override.")
    if target.stop == "hard":
        raise OverrideRefused(f"{target.label} is a hard stop and cannot be overridden.")
    if by_role != OVERRIDE_ROLE:
        raise OverrideRefused(f"Only a prescriber may override a soft stop, not {by_role!r}.")
    if not reason.strip():
        raise OverrideRefused("An override needs a written reason.")
    if target.override is not None:
        raise OverrideRefused(f"{target.label} has already been overridden.")
    overridden = replace(target, override=Override(by_role=by_role, reason=reason.strip()))
    items = tuple(overridden if item.key == key else item for item in result.items)
    return replace(result, items=items)
