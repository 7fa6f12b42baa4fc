"""A treatment protocol as data: the pydantic model of a protocol file and its loaders.

Every clinical number in a protocol file is tied to a `source` key declared in its
`sources` list, so the product can show where a number came from and whether it is
verified. Validation is strict and names the path of each offending field. Decimals may be
JSON numbers or strings ("0.5"); files are parsed with Decimal, never binary floats.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

Route = Literal["iv", "intranasal", "sublingual", "oral", "im", "sc"]
PhaseName = Literal["induction", "maintenance", "booster"]
Measure = Literal["bp", "hr", "spo2", "rr", "moaas", "cadss6"]
Stop = Literal["hard", "soft"]
CheckKey = Literal[
    "consent_current",
    "plan_signed",
    "interval_respected",
    "vitals_within_limits",
    "questionnaires_done",
    "fasting",
    "escort_confirmed",
    "pregnancy_status",
    "rems_enrolled",
    "concomitant_meds_reviewed",
]
MeasurementWhen = Literal[
    "baseline",
    "before_each_dose",
    "after_dose_hours",
    "weekly_during_induction",
    "monthly_in_maintenance",
]
# What a patient confirms at home before a take-home dose opens (see TakeHome).
HomeCheckinItem = Literal[
    "home_bp", "sober_monitor", "no_substances", "no_driving", "safe_setting", "fasting"
]
# Long-term surveillance over a course of repeated ketamine (see SurveillanceItem).
SurveillanceKind = Literal["bladder", "misuse", "cognition", "liver_tests"]
TAKE_HOME_ROUTES: frozenset[str] = frozenset({"sublingual", "oral"})
# V: primary source; S: secondary; derived: arithmetic on a cited statement;
# unverified: a suggested figure its source does not confirm; clinic_default: no published
# figure, a placeholder the clinic's medical director must confirm.
SourceGrade = Literal["V", "S", "derived", "unverified", "clinic_default"]

# 100 mg/mL ketamine must be diluted before IV use (Ketalar prescribing information, Par
# Pharmaceutical, NDA 016812,
# https://www.accessdata.fda.gov/scripts/cder/daf/index.cfm?event=overview.process&ApplNo=016812).
UNDILUTED_IV_LIMIT_MG_PER_ML = Decimal("100")


def _to_decimal(value: object) -> object:
    """Turn JSON numbers and numeric strings into Decimal; leave anything else to fail."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    return value


Dec = Annotated[Decimal, BeforeValidator(_to_decimal), Field(allow_inf_nan=False)]
PositiveDec = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]
SourceKey = Key
Text = Annotated[str, Field(min_length=1, max_length=500)]


class ProtocolError(ValueError):
    """A protocol file failed validation; `problems` holds one 'path: message' per fault."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = problems
        super().__init__(f"invalid protocol {origin}:\n  " + "\n  ".join(problems))


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Source(StrictModel):
    key: SourceKey
    citation: Text
    url: Text | None = None
    grade: SourceGrade


class SourcedInt(StrictModel):
    value: PositiveInt
    source: SourceKey


class SourcedDecimal(StrictModel):
    value: PositiveDec
    source: SourceKey


class Product(StrictModel):
    name: Text
    concentration_mg_per_ml: PositiveDec | None = None
    device_mg: PositiveDec | None = None
    minutes_between_devices: PositiveInt | None = None
    dilute_before_iv: bool = False
    source: SourceKey

    @model_validator(mode="after")
    def _device_fields_go_together(self) -> Self:
        if self.minutes_between_devices is not None and self.device_mg is None:
            raise ValueError("minutes_between_devices needs device_mg")
        return self


class DoseRule(StrictModel):
    """How a dose is sized: by body weight over a set time, or as fixed steps."""

    basis: Literal["mg_per_kg", "fixed_mg"]
    mg_per_kg: PositiveDec | None = None
    duration_minutes: PositiveInt | None = None
    step_mg: PositiveDec | None = None
    source: SourceKey

    @model_validator(mode="after")
    def _fields_match_basis(self) -> Self:
        if self.basis == "mg_per_kg":
            if self.mg_per_kg is None:
                raise ValueError("basis mg_per_kg needs mg_per_kg")
            if self.step_mg is not None:
                raise ValueError("step_mg belongs to basis fixed_mg")
        else:
            if self.step_mg is None:
                raise ValueError("basis fixed_mg needs step_mg")
            if self.mg_per_kg is not None or self.duration_minutes is not None:
                raise ValueError("mg_per_kg and duration_minutes belong to basis mg_per_kg")
        return self

    @property
    def unit(self) -> str:
        return "mg/kg" if self.basis == "mg_per_kg" else "mg"

    @property
    def rate_mg_per_kg_per_min(self) -> Decimal | None:
        if self.mg_per_kg is None or self.duration_minutes is None:
            return None
        return self.mg_per_kg / self.duration_minutes


_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class StartRule(StrictModel):
    """A starting dose chosen by a patient fact, e.g. age 65 or over starts lower."""

    fact: Literal["age_years", "weight_kg"]
    op: Literal[">=", ">", "<=", "<"]
    value: Dec
    dose: PositiveDec
    label: Text
    verified: bool
    source: SourceKey

    def applies(self, facts: Mapping[str, Decimal]) -> bool:
        return _COMPARE[self.op](facts[self.fact], self.value)


class StartingDose(StrictModel):
    """First dose, in the dose rule's unit (mg/kg or mg); the first matching rule wins."""

    dose: PositiveDec
    source: SourceKey
    rules: list[StartRule] = []

    def for_facts(self, facts: Mapping[str, Decimal]) -> tuple[Decimal, StartRule | None]:
        for rule in self.rules:
            if rule.applies(facts):
                return rule.dose, rule
        return self.dose, None


class DoseLimits(StrictModel):
    """Per-administration limits in the dose rule's unit.

    Hard limits can never be passed. Soft limits may be passed only with a written reason.
    """

    hard_min: SourcedDecimal
    hard_max: SourcedDecimal
    soft_min: SourcedDecimal | None = None
    soft_max: SourcedDecimal | None = None
    absolute_max_mg: SourcedDecimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        low = self.soft_min.value if self.soft_min else self.hard_min.value
        high = self.soft_max.value if self.soft_max else self.hard_max.value
        if not self.hard_min.value <= low <= high <= self.hard_max.value:
            raise ValueError("limits must satisfy hard_min <= soft_min <= soft_max <= hard_max")
        return self


class Spacing(StrictModel):
    min_interval_hours: SourcedInt
    max_doses_per_week: SourcedInt


class Titration(StrictModel):
    step_mg: PositiveDec
    every_days: PositiveInt
    source: SourceKey


class Phase(StrictModel):
    """One stage of a course. Frequency is per week or every N days; open-ended phases
    (maintenance without an end) may leave the frequency to the prescriber."""

    key: Key
    name: PhaseName
    per_week: PositiveInt | None = None
    interval_days: PositiveInt | None = None
    interval_days_max: PositiveInt | None = None
    sessions: PositiveInt | None = None
    weeks: PositiveInt | None = None
    open_ended: bool = False
    source: SourceKey

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.per_week is not None and self.interval_days is not None:
            raise ValueError("give per_week or interval_days, not both")
        if self.per_week is None and self.interval_days is None and not self.open_ended:
            raise ValueError("a phase that is not open_ended needs per_week or interval_days")
        if self.interval_days_max is not None and (
            self.interval_days is None or self.interval_days_max < self.interval_days
        ):
            raise ValueError("interval_days_max needs interval_days and must not be below it")
        bounded = self.sessions is not None or self.weeks is not None
        if bounded == self.open_ended:
            raise ValueError("give sessions or weeks, or mark the phase open_ended (not both)")
        if self.per_week and self.sessions and self.weeks:
            if self.sessions > self.per_week * self.weeks:
                raise ValueError("sessions exceed per_week x weeks")
        return self

    @property
    def planned_sessions(self) -> int | None:
        """Number of doses in the phase, or None when open-ended."""
        if self.sessions is not None:
            return self.sessions
        if self.weeks is None:
            return None
        if self.per_week is not None:
            return self.per_week * self.weeks
        if self.interval_days is None:
            return None
        return max(1, self.weeks * 7 // self.interval_days)


class PreDoseCheck(StrictModel):
    key: CheckKey
    stop: Stop
    source: SourceKey


class Checkpoint(StrictModel):
    """Vital signs due at `minutes_after_start` (0 = just before the dose starts),
    optionally repeated every `repeat_every_minutes` up to `repeat_until_minutes`."""

    label: Text
    minutes_after_start: NonNegativeInt
    measures: list[Measure] = Field(min_length=1)
    repeat_every_minutes: PositiveInt | None = None
    repeat_until_minutes: PositiveInt | None = None
    source: SourceKey

    @model_validator(mode="after")
    def _repeat_is_complete(self) -> Self:
        if len(set(self.measures)) != len(self.measures):
            raise ValueError("measures must not repeat")
        if (self.repeat_every_minutes is None) != (self.repeat_until_minutes is None):
            raise ValueError("repeat_every_minutes and repeat_until_minutes go together")
        if self.repeat_until_minutes is not None and (
            self.repeat_until_minutes <= self.minutes_after_start
        ):
            raise ValueError("repeat_until_minutes must be after minutes_after_start")
        return self

    def minutes(self) -> list[int]:
        if self.repeat_every_minutes is None or self.repeat_until_minutes is None:
            return [self.minutes_after_start]
        stop = self.repeat_until_minutes + 1
        return list(range(self.minutes_after_start, stop, self.repeat_every_minutes))


class Monitoring(StrictModel):
    checkpoints: list[Checkpoint] = Field(min_length=1)
    min_observation_minutes: SourcedInt

    def schedule(self) -> list[tuple[int, str, list[Measure]]]:
        """Every due reading as (minutes after start, label, measures), in time order."""
        due = [(m, c.label, list(c.measures)) for c in self.checkpoints for m in c.minutes()]
        return sorted(due, key=lambda item: item[0])


class Threshold(StrictModel):
    value: PositiveDec
    stop: Stop
    verified: bool
    source: SourceKey


class Thresholds(StrictModel):
    """Vital-sign limits. Pre-dose values are the highest allowed before dosing; in-session
    `hold_*`/`stop_*` values act when a reading goes above them; `min_spo2` when below."""

    pre_dose_max_systolic: Threshold
    pre_dose_max_diastolic: Threshold
    hold_above_systolic: Threshold | None = None
    hold_above_diastolic: Threshold | None = None
    stop_above_systolic: Threshold | None = None
    stop_above_diastolic: Threshold | None = None
    stop_above_hr: Threshold | None = None
    min_spo2: Threshold | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for side in ("systolic", "diastolic"):
            chain = [
                getattr(self, f"pre_dose_max_{side}"),
                getattr(self, f"hold_above_{side}"),
                getattr(self, f"stop_above_{side}"),
            ]
            values = [t.value for t in chain if t is not None]
            if values != sorted(values) or len(set(values)) != len(values):
                raise ValueError(f"{side}: need pre_dose_max < hold_above < stop_above")
        return self

    def items(self) -> Iterator[tuple[str, Threshold]]:
        for name in type(self).model_fields:
            threshold = getattr(self, name)
            if threshold is not None:
                yield name, threshold


class DischargeCriterion(StrictModel):
    key: Key
    text: Text
    source: SourceKey


class Support(StrictModel):
    """Psychological support around dosing: preparation first, integration after."""

    preparation_sessions: SourcedInt
    integration_after_each_dose: bool
    integration_window_min_hours: PositiveInt
    integration_window_max_hours: PositiveInt
    integration_window_source: SourceKey

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.integration_window_min_hours >= self.integration_window_max_hours:
            raise ValueError("integration window min hours must be below max hours")
        return self


class Measurement(StrictModel):
    instrument: Key
    when: list[MeasurementWhen] = Field(min_length=1)
    after_dose_hours: list[PositiveInt] = []
    source: SourceKey

    @model_validator(mode="after")
    def _hours_match(self) -> Self:
        if ("after_dose_hours" in self.when) != bool(self.after_dose_hours):
            raise ValueError("after_dose_hours must be listed exactly when 'when' includes it")
        if self.after_dose_hours != sorted(set(self.after_dose_hours)):
            raise ValueError("after_dose_hours must be increasing without repeats")
        return self


class Fasting(StrictModel):
    no_food_hours: PositiveInt
    no_liquids_minutes: PositiveInt
    source: SourceKey


class Instructions(StrictModel):
    """What the patient is told before a dosing day."""

    fasting: Fasting | None = None
    nasal_products_hours_before: SourcedInt | None = None
    arrange_transport: bool
    no_driving_until_after_sleep: bool
    source: SourceKey


class TakeHome(StrictModel):
    """Doses the patient takes at home between clinic visits, each opened by a check-in.

    Home blood pressure is held to the protocol's pre-dose thresholds. The post-session
    check-in is due `post_session_checkin_hours` after the session starts.
    """

    checkin: list[HomeCheckinItem] = Field(min_length=1)
    substance_free_hours: SourcedInt
    post_session_checkin_hours: SourcedInt
    bp_after_session: bool
    source: SourceKey

    @model_validator(mode="after")
    def _items_unique(self) -> Self:
        if repeated := _duplicates(list(self.checkin)):
            raise ValueError(f"checkin: repeated items {sorted(repeated)}")
        return self


class SurveillanceItem(StrictModel):
    """A screen repeated over the course: first after `first_after_days` from the course
    start, then every `every_days`."""

    kind: SurveillanceKind
    every_days: PositiveInt
    first_after_days: NonNegativeInt = 0
    source: SourceKey


class Protocol(StrictModel):
    key: Key
    version: PositiveInt
    title: Text
    route: Route
    product: Product
    dose_rule: DoseRule
    starting_dose: StartingDose
    limits: DoseLimits
    spacing: Spacing
    titration: Titration | None = None
    phases: list[Phase] = Field(min_length=1)
    pre_dose_checks: list[PreDoseCheck] = Field(min_length=1)
    monitoring: Monitoring
    thresholds: Thresholds
    discharge_criteria: list[DischargeCriterion] = Field(min_length=1)
    support: Support
    measurements: list[Measurement] = []
    instructions: Instructions
    take_home: TakeHome | None = None
    surveillance: list[SurveillanceItem] = []
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        for check in (
            _check_unique_keys,
            _check_sources,
            _check_verified_claims,
            _check_route_and_product,
            _check_doses_fit_limits,
            _check_phases,
            _check_take_home,
        ):
            check(self)
        return self

    def phase(self, key: str) -> Phase:
        for phase in self.phases:
            if phase.key == key:
                return phase
        raise KeyError(f"protocol {self.key} has no phase {key!r}")

    def source(self, key: str) -> Source:
        return next(s for s in self.sources if s.key == key)

    def cite(self, key: str) -> str:
        """The citation a person reads for a source key (the key itself never reaches a screen)."""
        return self.source(key).citation

    def unverified_thresholds(self) -> list[str]:
        """Threshold names the product must not present as verified."""
        return [name for name, threshold in self.thresholds.items() if not threshold.verified]


def _duplicates(values: list[str]) -> set[str]:
    return {v for v in values if values.count(v) > 1}


def _check_unique_keys(protocol: Protocol) -> None:
    lists: dict[str, list[str]] = {
        "sources": [s.key for s in protocol.sources],
        "phases": [p.key for p in protocol.phases],
        "pre_dose_checks": [c.key for c in protocol.pre_dose_checks],
        "discharge_criteria": [c.key for c in protocol.discharge_criteria],
        "measurements": [m.instrument for m in protocol.measurements],
        "surveillance": [item.kind for item in protocol.surveillance],
    }
    for name, keys in lists.items():
        if repeated := _duplicates(keys):
            raise ValueError(f"{name}: repeated keys {sorted(repeated)}")


def _cited(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Yield (field path, source key) for every `source*` field below `value`."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _cited(item, f"{path}[{index}]")
    elif isinstance(value, BaseModel) and not isinstance(value, Source):
        for name in type(value).model_fields:
            child = getattr(value, name)
            child_path = f"{path}.{name}" if path else name
            if name.endswith("source") and isinstance(child, str):
                yield child_path, child
            else:
                yield from _cited(child, child_path)


def _check_sources(protocol: Protocol) -> None:
    declared = {s.key for s in protocol.sources}
    for path, key in _cited(protocol, ""):
        if key not in declared:
            raise ValueError(f"{path}: source {key!r} is not declared in sources")


def _check_verified_claims(protocol: Protocol) -> None:
    grades = {s.key: s.grade for s in protocol.sources}
    claims = [(f"thresholds.{n}", t.verified, t.source) for n, t in protocol.thresholds.items()]
    claims += [
        (f"starting_dose.rules[{i}]", r.verified, r.source)
        for i, r in enumerate(protocol.starting_dose.rules)
    ]
    for path, verified, source in claims:
        if verified and grades[source] != "V":
            raise ValueError(f"{path}: verified=true needs a grade V source, {source!r} is not")


def _check_route_and_product(protocol: Protocol) -> None:
    rule, product = protocol.dose_rule, protocol.product
    if protocol.route == "iv" and rule.basis == "mg_per_kg" and rule.duration_minutes is None:
        raise ValueError("dose_rule.duration_minutes: an IV weight-based dose needs a duration")
    concentration = product.concentration_mg_per_ml
    if protocol.route == "iv" and concentration is not None and not product.dilute_before_iv:
        if concentration >= UNDILUTED_IV_LIMIT_MG_PER_ML:
            raise ValueError("product.dilute_before_iv: this concentration must be diluted for IV")
    if product.device_mg is not None:
        if rule.step_mg is None or rule.step_mg % product.device_mg != 0:
            raise ValueError("dose_rule.step_mg: device products dose in whole devices")


def _check_doses_fit_limits(protocol: Protocol) -> None:
    limits, step = protocol.limits, protocol.dose_rule.step_mg
    start = protocol.starting_dose
    doses = [("starting_dose.dose", start.dose)]
    doses += [(f"starting_dose.rules[{i}].dose", r.dose) for i, r in enumerate(start.rules)]
    if protocol.dose_rule.mg_per_kg is not None:
        doses.append(("dose_rule.mg_per_kg", protocol.dose_rule.mg_per_kg))
    for path, dose in doses:
        if not limits.hard_min.value <= dose <= limits.hard_max.value:
            raise ValueError(f"{path}: {dose} is outside the hard limits")
        if step is not None and dose % step != 0:
            raise ValueError(f"{path}: {dose} is not a multiple of step_mg {step}")
    if step is not None:
        for name in ("hard_min", "hard_max", "soft_min", "soft_max"):
            bound = getattr(limits, name)
            if bound is not None and bound.value % step != 0:
                raise ValueError(f"limits.{name}: not a multiple of step_mg {step}")


def _check_phases(protocol: Protocol) -> None:
    cap = protocol.spacing.max_doses_per_week.value
    min_hours = protocol.spacing.min_interval_hours.value
    for index, phase in enumerate(protocol.phases):
        if phase.per_week is not None and phase.per_week > cap:
            raise ValueError(f"phases[{index}].per_week: above max_doses_per_week {cap}")
        if phase.interval_days is None:
            continue
        if phase.interval_days * 24 < min_hours:
            raise ValueError(f"phases[{index}].interval_days: shorter than min_interval_hours")
        if -(-7 // phase.interval_days) > cap:
            raise ValueError(f"phases[{index}].interval_days: fits more than {cap} doses a week")


def _check_take_home(protocol: Protocol) -> None:
    take_home = protocol.take_home
    if take_home is None:
        return
    if protocol.route not in TAKE_HOME_ROUTES:
        raise ValueError(f"take_home: not allowed for route {protocol.route!r}")
    if "fasting" in take_home.checkin and protocol.instructions.fasting is None:
        raise ValueError("take_home.checkin: 'fasting' needs instructions.fasting")


def _format_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        problems.append(f"{path or '(protocol)'}: {item['msg']}")
    return problems


def load_protocol(path_or_dict: Path | str | Mapping[str, Any]) -> Protocol:
    """Validate a protocol from a JSON file path or an already parsed mapping.

    Raises ProtocolError listing every problem with its field path.
    """
    if isinstance(path_or_dict, Mapping):
        origin, data = "(mapping)", dict(path_or_dict)
    else:
        path = Path(path_or_dict)
        origin = path.name
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise ProtocolError(origin, [f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from exc
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(origin, _format_errors(exc)) from exc


def load_library(directory: Path | None = None) -> dict[str, Protocol]:
    """Load every shipped protocol (or every *.json in `directory`), keyed by protocol key.

    A file must be named after its key, so a protocol is found where its key says.
    """
    if directory is None:
        folder = resources.files(__package__ or "katclinic.protocols") / "library"
        files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=str)
        paths = [Path(str(f)) for f in files]
    else:
        paths = sorted(directory.glob("*.json"))
    library: dict[str, Protocol] = {}
    for path in paths:
        protocol = load_protocol(path)
        if protocol.key != path.stem:
            raise ProtocolError(path.name, [f"key: {protocol.key!r} does not match file name"])
        library[protocol.key] = protocol
    return library
