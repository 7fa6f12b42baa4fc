"""Dose arithmetic for a protocol: pure functions on Decimal, no database.

Rounding rules (all ROUND_HALF_UP): body weight to 0.1 kg before any arithmetic, doses to
0.1 mg, volumes to 0.01 mL, rates to 0.001 mg/min and 0.1 mg/h. Weight-based limits are
turned into mg with the same rounding as the dose, so the standard dose can never trip its
own limit through rounding. Device products (esketamine) dose in whole devices only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from katclinic.protocols.schema import Protocol, SourcedDecimal, StartRule

KG_STEP = Decimal("0.1")
MG_STEP = Decimal("0.1")
ML_STEP = Decimal("0.01")
MG_PER_MIN_STEP = Decimal("0.001")
MG_PER_H_STEP = Decimal("0.1")
# The international pound is defined as exactly 0.45359237 kg (1959 yard and pound agreement).
KG_PER_LB = Decimal("0.45359237")

WeightUnit = Literal["kg", "lb"]
ROUNDING_NOTE = (
    "Rounding: half-up, weight to 0.1 kg, dose to 0.1 mg, volume to 0.01 mL, "
    "rate to 0.001 mg/min and 0.1 mg/h."
)


class DoseError(ValueError):
    """A dose that must not be given as asked."""


class DoseOutOfRange(DoseError):
    """The dose passes a hard limit; `limit` names it (hard_min, hard_max, absolute_max_mg)."""

    def __init__(self, *, limit: str, dose_mg: Decimal, bound_mg: Decimal, detail: str) -> None:
        self.limit = limit
        self.dose_mg = dose_mg
        self.bound_mg = bound_mg
        side = "below" if limit.endswith("min") else "above"
        super().__init__(f"{dose_mg} mg is {side} the {limit} limit of {bound_mg} mg ({detail})")


class DoseStepError(DoseError):
    """The dose is not a whole number of steps (for devices: whole devices)."""


class ReasonRequired(DoseError):
    """A soft limit was passed and no written reason was given."""


@dataclass(frozen=True)
class DoseCalculation:
    """The result of `compute_dose`, with the working shown in `lines`."""

    protocol_key: str
    dose_mg: Decimal
    weight_kg: Decimal
    volume_ml: Decimal | None
    duration_minutes: int | None
    rate_mg_per_min: Decimal | None
    rate_mg_per_h: Decimal | None
    devices: int | None
    start_rule: str | None
    soft_limit: str | None
    lines: tuple[str, ...]

    @property
    def requires_reason(self) -> bool:
        return self.soft_limit is not None

    def confirm(self, reason: str | None) -> None:
        """Raise ReasonRequired when a soft limit was passed and `reason` is blank."""
        if self.soft_limit is not None and not (reason or "").strip():
            raise ReasonRequired(f"a written reason is required: {self.soft_limit}")


def fmt(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros (100, 0.5)."""
    return format(value.normalize(), "f")


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def to_kg(value: Decimal, unit: WeightUnit) -> Decimal:
    """Convert a weight to kilograms exactly (no rounding)."""
    if value <= 0:
        raise ValueError("weight must be positive")
    if unit == "kg":
        return value
    if unit == "lb":
        return value * KG_PER_LB
    raise ValueError(f"unknown weight unit {unit!r}")


def from_kg(value_kg: Decimal, unit: WeightUnit) -> Decimal:
    """Convert kilograms to `unit` exactly; the inverse of `to_kg`."""
    if value_kg <= 0:
        raise ValueError("weight must be positive")
    if unit == "kg":
        return value_kg
    if unit == "lb":
        return value_kg / KG_PER_LB
    raise ValueError(f"unknown weight unit {unit!r}")


def weight_is_stale(measured_on: date, today: date, max_age_days: int) -> bool:
    """True when the weight is more than `max_age_days` old (that many days is still fresh)."""
    if max_age_days < 0:
        raise ValueError("max_age_days must not be negative")
    if measured_on > today:
        raise ValueError("weight measured in the future")
    return (today - measured_on).days > max_age_days


def cumulative_mg(
    doses: Iterable[tuple[datetime, Decimal]], window_start: datetime, window_end: datetime
) -> Decimal:
    """Total mg given in the half-open window [window_start, window_end)."""
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("window datetimes must be timezone-aware")
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    total = Decimal(0)
    for given_at, mg in doses:
        if given_at.tzinfo is None:
            raise ValueError("dose datetimes must be timezone-aware")
        if mg < 0:
            raise ValueError("a dose cannot be negative")
        if window_start <= given_at < window_end:
            total += mg
    return total


def compute_dose(
    protocol: Protocol,
    *,
    weight_kg: Decimal,
    age_years: int,
    requested_mg: Decimal | None = None,
) -> DoseCalculation:
    """Size one administration under `protocol`, or check a requested dose against it.

    With no `requested_mg` the protocol's starting dose for this patient is proposed.
    Raises DoseOutOfRange past a hard limit and DoseStepError off the dose steps; a dose
    past a soft limit is returned with `requires_reason` set.
    """
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    if age_years < 0:
        raise ValueError("age must not be negative")
    weight = round_half_up(weight_kg, KG_STEP)
    lines = [_weight_line(weight_kg, weight)]
    facts = {"age_years": Decimal(age_years), "weight_kg": weight}
    per_patient, rule = protocol.starting_dose.for_facts(facts)
    if requested_mg is None:
        dose_mg = _starting_mg(protocol, weight, per_patient, rule, lines)
    else:
        dose_mg = round_half_up(requested_mg, MG_STEP)
        lines.append(_requested_line(protocol, requested_mg, dose_mg, weight))
    _check_step(protocol, dose_mg)
    soft = _check_limits(protocol, dose_mg, weight, rule)
    if soft is not None:
        lines.append(f"Soft limit passed, written reason required: {soft}")
    return _finish(protocol, dose_mg, weight, rule, soft, lines)


def titrate(protocol: Protocol, *, previous_mg: Decimal) -> Decimal:
    """The next titration step after `previous_mg`, capped at the highest dose allowed
    without a reason (the soft maximum, else the hard maximum)."""
    if protocol.titration is None:
        raise ValueError(f"protocol {protocol.key} has no titration")
    limits = protocol.limits
    ceiling = (limits.soft_max or limits.hard_max).value
    return min(previous_mg + protocol.titration.step_mg, ceiling)


def _weight_line(given: Decimal, rounded: Decimal) -> str:
    if given == rounded:
        return f"Weight {rounded} kg"
    return f"Weight {fmt(given)} kg, rounded half-up to {rounded} kg"


def _starting_mg(
    protocol: Protocol,
    weight: Decimal,
    per_patient: Decimal,
    rule: StartRule | None,
    lines: list[str],
) -> Decimal:
    source = protocol.cite(rule.source if rule else protocol.starting_dose.source)
    if rule is not None:
        lines.append(f"Starting dose rule: {rule.label}")
    if protocol.dose_rule.basis == "fixed_mg":
        dose_mg = round_half_up(per_patient, MG_STEP)
        lines.append(f"Starting dose {dose_mg} mg (source: {source})")
        return dose_mg
    exact = per_patient * weight
    dose_mg = round_half_up(exact, MG_STEP)
    product = f"{fmt(per_patient)} mg/kg x {weight} kg = {dose_mg} mg"
    if exact != dose_mg:
        product = (
            f"{fmt(per_patient)} mg/kg x {weight} kg = {fmt(exact)} mg, rounded to {dose_mg} mg"
        )
    lines.append(f"{product} (source: {source})")
    return dose_mg


def _requested_line(protocol: Protocol, asked: Decimal, dose_mg: Decimal, weight: Decimal) -> str:
    text = f"Requested {fmt(asked)} mg"
    if asked != dose_mg:
        text += f", rounded half-up to {dose_mg} mg"
    if protocol.dose_rule.basis == "mg_per_kg":
        per_kg = (dose_mg / weight).quantize(MG_PER_MIN_STEP, rounding=ROUND_HALF_UP)
        text += f" = {fmt(per_kg)} mg/kg at {weight} kg"
    return text


def _check_step(protocol: Protocol, dose_mg: Decimal) -> None:
    step = protocol.dose_rule.step_mg
    if step is not None and dose_mg % step != 0:
        what = "device" if protocol.product.device_mg else "step"
        raise DoseStepError(f"{dose_mg} mg is not a whole number of {fmt(step)} mg {what}s")


def _bound_mg(protocol: Protocol, bound: SourcedDecimal, weight: Decimal) -> tuple[Decimal, str]:
    """A limit in mg for this patient, with a description naming its source."""
    if protocol.dose_rule.basis == "fixed_mg":
        return bound.value, f"source {bound.source}"
    mg = round_half_up(bound.value * weight, MG_STEP)
    return mg, f"{fmt(bound.value)} mg/kg x {weight} kg, source {bound.source}"


def _check_limits(
    protocol: Protocol, dose_mg: Decimal, weight: Decimal, rule: StartRule | None
) -> str | None:
    """Raise past a hard limit; return a description of any soft limit passed."""
    limits = protocol.limits
    hard_min, min_detail = _bound_mg(protocol, limits.hard_min, weight)
    hard_max, max_detail = _bound_mg(protocol, limits.hard_max, weight)
    if dose_mg < hard_min:
        raise DoseOutOfRange(
            limit="hard_min", dose_mg=dose_mg, bound_mg=hard_min, detail=min_detail
        )
    if dose_mg > hard_max:
        raise DoseOutOfRange(
            limit="hard_max", dose_mg=dose_mg, bound_mg=hard_max, detail=max_detail
        )
    cap = limits.absolute_max_mg
    if cap is not None and dose_mg > cap.value:
        detail = f"source {cap.source}"
        raise DoseOutOfRange(
            limit="absolute_max_mg", dose_mg=dose_mg, bound_mg=cap.value, detail=detail
        )
    if limits.soft_max is not None:
        soft_max, detail = _bound_mg(protocol, limits.soft_max, weight)
        if dose_mg > soft_max:
            return f"{dose_mg} mg is above the soft maximum of {soft_max} mg ({detail})"
    if limits.soft_min is not None:
        soft_min, detail = _bound_mg(protocol, limits.soft_min, weight)
        if rule is not None:
            # A patient-fact start rule (e.g. 65 or over starts at 28 mg) makes its own
            # lower dose an ordinary choice for that patient.
            soft_min = min(soft_min, _bound_mg(protocol, _as_bound(rule), weight)[0])
        if dose_mg < soft_min:
            return f"{dose_mg} mg is below the soft minimum of {soft_min} mg ({detail})"
    return None


def _as_bound(rule: StartRule) -> SourcedDecimal:
    return SourcedDecimal(value=rule.dose, source=rule.source)


def _finish(
    protocol: Protocol,
    dose_mg: Decimal,
    weight: Decimal,
    rule: StartRule | None,
    soft: str | None,
    lines: list[str],
) -> DoseCalculation:
    volume = _volume_ml(protocol, dose_mg, lines)
    per_min, per_h = _rates(protocol, dose_mg, lines)
    devices = _devices(protocol, dose_mg, lines)
    lines.append(ROUNDING_NOTE)
    return DoseCalculation(
        protocol_key=protocol.key,
        dose_mg=dose_mg,
        weight_kg=weight,
        volume_ml=volume,
        duration_minutes=protocol.dose_rule.duration_minutes,
        rate_mg_per_min=per_min,
        rate_mg_per_h=per_h,
        devices=devices,
        start_rule=rule.label if rule else None,
        soft_limit=soft,
        lines=tuple(lines),
    )


def _volume_ml(protocol: Protocol, dose_mg: Decimal, lines: list[str]) -> Decimal | None:
    concentration = protocol.product.concentration_mg_per_ml
    if concentration is None:
        return None
    volume = round_half_up(dose_mg / concentration, ML_STEP)
    lines.append(f"Volume: {dose_mg} mg / {fmt(concentration)} mg/mL = {volume} mL")
    if protocol.product.dilute_before_iv:
        lines.append(f"Dilute before infusion: never run {fmt(concentration)} mg/mL IV undiluted")
    return volume


def _rates(
    protocol: Protocol, dose_mg: Decimal, lines: list[str]
) -> tuple[Decimal | None, Decimal | None]:
    minutes = protocol.dose_rule.duration_minutes
    if minutes is None:
        return None, None
    per_min = round_half_up(dose_mg / minutes, MG_PER_MIN_STEP)
    per_h = round_half_up(dose_mg * 60 / minutes, MG_PER_H_STEP)
    lines.append(f"Rate: {dose_mg} mg / {minutes} min = {fmt(per_min)} mg/min")
    lines.append(f"Rate: {dose_mg} mg x 60 / {minutes} min = {per_h} mg/h")
    return per_min, per_h


def _devices(protocol: Protocol, dose_mg: Decimal, lines: list[str]) -> int | None:
    device = protocol.product.device_mg
    if device is None:
        return None
    count = int(dose_mg / device)
    text = f"Devices: {dose_mg} mg / {fmt(device)} mg per device = {count} device"
    text += "" if count == 1 else "s"
    rest = protocol.product.minutes_between_devices
    if rest is not None and count > 1:
        text += f", {rest} min rest between devices"
    lines.append(text)
    return count
