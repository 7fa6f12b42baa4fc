"""What changed between two versions of a protocol, in words a medical director reads.

`describe_changes(old, new)` compares two validated protocols and returns one line per
change, grouped by area (doses, limits, spacing, phases, pre-dose checks, monitoring,
vital-sign limits, discharge, questionnaires, instructions). No field names reach the
reader; every number carries its unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from katclinic.protocols.schema import Checkpoint, Phase, Protocol, Threshold

MEASURE_WORDS = {
    "bp": "blood pressure",
    "hr": "heart rate",
    "spo2": "oxygen saturation",
    "rr": "breathing rate",
    "moaas": "sedation score (MOAA/S)",
    "cadss6": "dissociation score (CADSS-6)",
}
CHECK_WORDS = {
    "consent_current": "current signed consent",
    "plan_signed": "signed treatment plan",
    "interval_respected": "time since the last dose",
    "vitals_within_limits": "vital signs within limits",
    "questionnaires_done": "questionnaires completed",
    "fasting": "fasting confirmed",
    "escort_confirmed": "escort home confirmed",
    "pregnancy_status": "pregnancy status",
    "rems_enrolled": "REMS enrolment",
    "concomitant_meds_reviewed": "other medicines reviewed",
}
THRESHOLD_WORDS = {
    "pre_dose_max_systolic": ("Highest systolic pressure before dosing", "mmHg"),
    "pre_dose_max_diastolic": ("Highest diastolic pressure before dosing", "mmHg"),
    "hold_above_systolic": ("Hold the dose above systolic", "mmHg"),
    "hold_above_diastolic": ("Hold the dose above diastolic", "mmHg"),
    "stop_above_systolic": ("Stop the session above systolic", "mmHg"),
    "stop_above_diastolic": ("Stop the session above diastolic", "mmHg"),
    "stop_above_hr": ("Stop the session above heart rate", "beats/min"),
    "min_spo2": ("Lowest oxygen saturation", "%"),
}
LIMIT_WORDS = {
    "hard_min": "Lowest dose allowed (hard limit)",
    "soft_min": "Lowest dose without a written reason (soft limit)",
    "soft_max": "Highest dose without a written reason (soft limit)",
    "hard_max": "Highest dose allowed (hard limit)",
}
WHEN_WORDS = {
    "baseline": "at baseline",
    "before_each_dose": "before each dose",
    "after_dose_hours": "after each dose",
    "weekly_during_induction": "weekly during induction",
    "monthly_in_maintenance": "monthly in maintenance",
}
STOP_WORDS = {"hard": "blocks the dose", "soft": "may be overridden with a reason"}


@dataclass(frozen=True)
class Change:
    area: str
    text: str


def number(value: Decimal | int | None, unit: str = "") -> str:
    if value is None:
        return "none"
    shown = f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
    return f"{shown} {unit}".strip()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, area: str, text: str) -> None:
        self.changes.append(Change(area, text))

    def value(
        self, area: str, label: str, old: Any, new: Any, fmt: Callable[[Any], str] = str
    ) -> None:
        if old == new:
            return
        if old is None:
            self.add(area, f"{label}: added, {fmt(new)}")
        elif new is None:
            self.add(area, f"{label}: removed (was {fmt(old)})")
        else:
            self.add(area, f"{label}: from {fmt(old)} to {fmt(new)}")


def _keyed(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, Any]:
    return {key(item): item for item in items}


def _dose_rule(c: _Collector, area: str, old: Protocol, new: Protocol) -> None:
    """How the dose is sized and its numbers."""
    o, n = old.dose_rule, new.dose_rule
    basis = {"mg_per_kg": "by body weight (mg/kg)", "fixed_mg": "in fixed steps (mg)"}
    c.value(area, "How the dose is sized", basis[o.basis], basis[n.basis])
    c.value(area, "Dose per kilogram", o.mg_per_kg, n.mg_per_kg, lambda v: number(v, "mg/kg"))
    c.value(
        area,
        "Infusion time",
        o.duration_minutes,
        n.duration_minutes,
        lambda v: _plural(v, "minute"),
    )
    c.value(area, "Dose step", o.step_mg, n.step_mg, lambda v: number(v, "mg"))


def _starting_dose(c: _Collector, area: str, old: Protocol, new: Protocol) -> None:
    """The starting dose and its rules, by label."""
    unit = new.dose_rule.unit
    c.value(
        area,
        "Starting dose",
        old.starting_dose.dose,
        new.starting_dose.dose,
        lambda v: number(v, unit),
    )
    before = _keyed(old.starting_dose.rules, lambda r: r.label)
    after = _keyed(new.starting_dose.rules, lambda r: r.label)
    for label, rule in after.items():
        if label not in before:
            c.add(area, f"New starting-dose rule “{label}”: {number(rule.dose, unit)}")
        elif before[label].dose != rule.dose:
            c.value(
                area,
                f"Starting dose when “{label}”",
                before[label].dose,
                rule.dose,
                lambda v: number(v, unit),
            )
    for label in sorted(before.keys() - after.keys()):
        c.add(area, f"Starting-dose rule “{label}” removed")


def _product_and_titration(c: _Collector, area: str, old: Protocol, new: Protocol) -> None:
    c.value(area, "Product", old.product.name, new.product.name)
    c.value(
        area,
        "Product concentration",
        old.product.concentration_mg_per_ml,
        new.product.concentration_mg_per_ml,
        lambda v: number(v, "mg/mL"),
    )
    ot, nt = old.titration, new.titration
    c.value(
        area,
        "Titration step",
        ot.step_mg if ot else None,
        nt.step_mg if nt else None,
        lambda v: number(v, "mg"),
    )
    c.value(
        area,
        "Titration every",
        ot.every_days if ot else None,
        nt.every_days if nt else None,
        lambda v: _plural(v, "day"),
    )


def _doses(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Doses"
    _dose_rule(c, area, old, new)
    _starting_dose(c, area, old, new)
    _product_and_titration(c, area, old, new)


def _limits(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Dose limits"
    unit = new.dose_rule.unit
    for name, label in LIMIT_WORDS.items():
        o, n = getattr(old.limits, name), getattr(new.limits, name)
        c.value(
            area, label, o.value if o else None, n.value if n else None, lambda v: number(v, unit)
        )
    o, n = old.limits.absolute_max_mg, new.limits.absolute_max_mg
    c.value(
        area,
        "Absolute highest single dose",
        o.value if o else None,
        n.value if n else None,
        lambda v: number(v, "mg"),
    )
    c.value(
        area,
        "Minimum time between doses",
        old.spacing.min_interval_hours.value,
        new.spacing.min_interval_hours.value,
        lambda v: _plural(v, "hour"),
    )
    c.value(
        area,
        "Most doses in a week",
        old.spacing.max_doses_per_week.value,
        new.spacing.max_doses_per_week.value,
    )


def _phase_words(phase: Phase) -> str:
    parts = []
    if phase.per_week is not None:
        parts.append(f"{phase.per_week} a week")
    if phase.interval_days is not None:
        spread = (
            f"{phase.interval_days} to {phase.interval_days_max}"
            if phase.interval_days_max
            else str(phase.interval_days)
        )
        parts.append(f"every {spread} days")
    if phase.sessions is not None:
        parts.append(_plural(phase.sessions, "session"))
    if phase.weeks is not None:
        parts.append(f"over {_plural(phase.weeks, 'week')}")
    if phase.open_ended:
        parts.append("open-ended")
    return ", ".join(parts)


def _phases(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Phases"
    before = _keyed(old.phases, lambda p: p.key)
    after = _keyed(new.phases, lambda p: p.key)
    for key, phase in after.items():
        name = phase.name.capitalize()
        if key not in before:
            c.add(area, f"New {phase.name} phase: {_phase_words(phase)}")
        elif _phase_words(before[key]) != _phase_words(phase):
            c.add(
                area,
                f"{name} phase: was {_phase_words(before[key])}; now {_phase_words(phase)}",
            )
    for key in sorted(before.keys() - after.keys()):
        c.add(area, f"{before[key].name.capitalize()} phase removed")


def _checks(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Pre-dose checks"
    before = _keyed(old.pre_dose_checks, lambda x: x.key)
    after = _keyed(new.pre_dose_checks, lambda x: x.key)
    for key, check in after.items():
        words = CHECK_WORDS.get(key, key.replace("_", " "))
        if key not in before:
            c.add(area, f"New check: {words} ({STOP_WORDS[check.stop]})")
        elif before[key].stop != check.stop:
            c.add(
                area,
                f"Check “{words}”: was {STOP_WORDS[before[key].stop]}; now {STOP_WORDS[check.stop]}",
            )
    for key in sorted(before.keys() - after.keys()):
        c.add(area, f"Check removed: {CHECK_WORDS.get(key, key.replace('_', ' '))}")


def _measure_words(point: Checkpoint) -> str:
    return ", ".join(MEASURE_WORDS[m] for m in point.measures)


def _timing_words(point: Checkpoint) -> str:
    if point.repeat_every_minutes is not None:
        return (
            f"from {point.minutes_after_start} min every {point.repeat_every_minutes} min "
            f"until {point.repeat_until_minutes} min"
        )
    if point.minutes_after_start == 0:
        return "just before the dose"
    return f"at {point.minutes_after_start} min"


def _checkpoint_words(point: Checkpoint) -> str:
    return f"{_timing_words(point)}: {_measure_words(point)}"


def _monitoring(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Monitoring"
    before = _keyed(old.monitoring.checkpoints, lambda p: p.label)
    after = _keyed(new.monitoring.checkpoints, lambda p: p.label)
    for label, point in after.items():
        if label not in before:
            c.add(area, f"New checkpoint “{label}”: {_checkpoint_words(point)}")
        else:
            was = before[label]
            if _timing_words(was) != _timing_words(point):
                c.add(
                    area,
                    f"Checkpoint “{label}”: was {_timing_words(was)}; now {_timing_words(point)}",
                )
            if _measure_words(was) != _measure_words(point):
                c.add(
                    area,
                    f"Checkpoint “{label}” readings: were {_measure_words(was)}; "
                    f"now {_measure_words(point)}",
                )
    for label in sorted(before.keys() - after.keys()):
        c.add(area, f"Checkpoint “{label}” removed")
    c.value(
        area,
        "Minimum observation after the dose",
        old.monitoring.min_observation_minutes.value,
        new.monitoring.min_observation_minutes.value,
        lambda v: _plural(v, "minute"),
    )


def _threshold_words(t: Threshold, unit: str) -> str:
    return f"{number(t.value, unit)} ({STOP_WORDS[t.stop]})"


def _thresholds(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Vital-sign limits"
    for name, (label, unit) in THRESHOLD_WORDS.items():
        o, n = getattr(old.thresholds, name), getattr(new.thresholds, name)
        if o == n:
            continue
        c.value(
            area,
            label,
            _threshold_words(o, unit) if o else None,
            _threshold_words(n, unit) if n else None,
        )


def _discharge(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Discharge"
    before = _keyed(old.discharge_criteria, lambda d: d.key)
    after = _keyed(new.discharge_criteria, lambda d: d.key)
    for key, item in after.items():
        if key not in before:
            c.add(area, f"New criterion: {item.text}")
        elif before[key].text != item.text:
            c.add(area, f"Criterion reworded: “{before[key].text}” is now “{item.text}”")
    for key in sorted(before.keys() - after.keys()):
        c.add(area, f"Criterion removed: {before[key].text}")


def _measurements(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Questionnaires"

    def words(m: Any) -> str:
        text = ", ".join(WHEN_WORDS[w] for w in m.when)
        if m.after_dose_hours:
            text += f" ({', '.join(str(h) for h in m.after_dose_hours)} h after)"
        return text

    before = _keyed(old.measurements, lambda m: m.instrument)
    after = _keyed(new.measurements, lambda m: m.instrument)
    for key, item in after.items():
        name = key.upper().replace("_", "-")
        if key not in before:
            c.add(area, f"{name} added: {words(item)}")
        elif words(before[key]) != words(item):
            c.add(area, f"{name}: from {words(before[key])} to {words(item)}")
    for key in sorted(before.keys() - after.keys()):
        c.add(area, f"{key.upper().replace('_', '-')} no longer given")


def _instructions(c: _Collector, old: Protocol, new: Protocol) -> None:
    area = "Patient instructions"
    o, n = old.instructions, new.instructions
    c.value(
        area,
        "No food before the session",
        o.fasting.no_food_hours if o.fasting else None,
        n.fasting.no_food_hours if n.fasting else None,
        lambda v: _plural(v, "hour"),
    )
    c.value(
        area,
        "No liquids before the session",
        o.fasting.no_liquids_minutes if o.fasting else None,
        n.fasting.no_liquids_minutes if n.fasting else None,
        lambda v: _plural(v, "minute"),
    )
    c.value(
        area,
        "Nasal products at least this long before",
        o.nasal_products_hours_before.value if o.nasal_products_hours_before else None,
        n.nasal_products_hours_before.value if n.nasal_products_hours_before else None,
        lambda v: _plural(v, "hour"),
    )
    yes_no = {True: "required", False: "not required"}
    c.value(area, "A ride home", yes_no[o.arrange_transport], yes_no[n.arrange_transport])
    c.value(
        area,
        "No driving until after a night's sleep",
        yes_no[o.no_driving_until_after_sleep],
        yes_no[n.no_driving_until_after_sleep],
    )


_SECTIONS = (
    _doses,
    _limits,
    _phases,
    _checks,
    _monitoring,
    _thresholds,
    _discharge,
    _measurements,
    _instructions,
)
# Parts compared above, or (version, sources) not clinical content in themselves.
_HANDLED = {
    "key",
    "version",
    "title",
    "route",
    "product",
    "dose_rule",
    "starting_dose",
    "limits",
    "spacing",
    "titration",
    "phases",
    "pre_dose_checks",
    "monitoring",
    "thresholds",
    "discharge_criteria",
    "measurements",
    "instructions",
    "sources",
}
_OTHER_WORDS = {
    "support": "Preparation and integration support",
    "take_home": "Take-home doses",
    "surveillance": "Long-term surveillance",
}


def describe_changes(old: Protocol, new: Protocol) -> list[Change]:
    """Every clinically meaningful difference from `old` to `new`, in reading order."""
    c = _Collector()
    c.value("Protocol", "Title", old.title, new.title)
    c.value("Protocol", "Route", old.route, new.route)
    for section in _SECTIONS:
        section(c, old, new)
    for name in type(new).model_fields:
        if name in _HANDLED:
            continue
        if getattr(old, name) != getattr(new, name):
            c.add("Other", f"{_OTHER_WORDS.get(name, name.replace('_', ' ').capitalize())} changed")
    before = _keyed(old.sources, lambda s: s.key)
    after = _keyed(new.sources, lambda s: s.key)
    for key in sorted(after.keys() - before.keys()):
        c.add("Sources", f"New source cited: {after[key].citation}")
    for key in sorted(before.keys() - after.keys()):
        c.add("Sources", f"Source no longer cited: {before[key].citation}")
    return c.changes


def grouped(changes: list[Change]) -> list[tuple[str, list[str]]]:
    """Changes as (area, lines) in first-seen order, for a page."""
    areas: dict[str, list[str]] = {}
    for change in changes:
        areas.setdefault(change.area, []).append(change.text)
    return list(areas.items())
