"""Database-free scoring of measurement instruments.

Instrument definitions are data: one JSON file per instrument in ``instruments/``,
loaded into frozen pydantic models. Totals, completeness, severity bands, flags,
C-SSRS triage and change over a course of treatment are all computed from that
data, so correcting a threshold or adding an instrument never needs a code branch.

Answers are a mapping of item ``link_id`` to an ordinal ``int`` (choice items),
a ``bool`` (yes/no items) or ``None`` (not answered).

Public API: load_builtin_instruments, load_definition, with_clinic_wording,
load_clinic_wording, validate_answers, score, assess (both in one pass), course_change; the models
InstrumentDefinition (and its parts), ScoreResult, AnswerError, CourseChange,
Criterion; the errors DefinitionError and InvalidAnswers.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

Answer = int | bool | None
Text = Annotated[StrictStr, Field(min_length=1)]
LinkId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")]
Number = Annotated[float, Field(strict=True, ge=0)]
Operator = Literal["=", "!=", ">", ">=", "<", "<="]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class DefinitionError(ValueError):
    """A definition or clinic wording file is malformed; the message names the field."""


# --------------------------------------------------------------------------- definition


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Coding(_Model):
    """A code from a code system (LOINC, or the local ``urn:katclinic:instrument``)."""

    system: Text
    code: Text
    display: Text | None = None


class AnswerCode(_Model):
    """Code of an answer option, e.g. LOINC ``LA6568-5``; the option's display is its label."""

    system: Text
    code: Text


class AnswerOption(_Model):
    value: StrictInt
    display: Text
    code: AnswerCode | None = None


class Condition(_Model):
    """``enable_when``: the item applies only when an earlier item's answer matches."""

    item: LinkId
    operator: Literal["=", "!="]
    value: StrictBool | StrictInt


class Item(_Model):
    link_id: LinkId
    text: Text
    type: Literal["choice", "boolean"]
    required: StrictBool
    scored: StrictBool
    code: Coding | None = None
    answer_options: tuple[AnswerOption, ...] = ()
    enable_when: Condition | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Item:
        values = [option.value for option in self.answer_options]
        if self.type == "choice" and not values:
            raise ValueError("answer_options: a choice item needs at least one option")
        if len(set(values)) != len(values):
            raise ValueError("answer_options: option values must be unique")
        if self.type == "boolean" and (values or self.scored):
            raise ValueError("type: a boolean item has no answer_options and is not scored")
        return self

    @functools.cached_property
    def values(self) -> tuple[int, ...]:
        """The option values (worked out once: items are frozen and kept per process)."""
        return tuple(option.value for option in self.answer_options)


class Domain(_Model):
    key: Text
    label: Text
    items: tuple[LinkId, ...] = Field(min_length=1)


class Scoring(_Model):
    """``sum`` of scored items, ``domain_max`` (sum of each domain's highest item), or ``none``."""

    method: Literal["sum", "domain_max", "none"]
    domains: tuple[Domain, ...] = ()


class Subscale(_Model):
    key: Text
    label: Text
    items: tuple[LinkId, ...] = Field(min_length=1)
    code: Coding | None = None


class Band(_Model):
    min: StrictInt
    max: StrictInt
    label: Text


class Bands(_Model):
    source: Text
    ranges: tuple[Band, ...] = Field(min_length=1)


class FlagRule(_Model):
    """Raise ``code`` when an item's answer (or the total, when ``item`` is None) matches.

    ``setting`` names a clinic setting that holds the clinic's own ``value``; the
    ``value`` here is then the default, used when no clinic value is given to ``score``.
    """

    code: Text
    label: Text
    source: Text
    item: LinkId | None = None
    operator: Operator
    value: StrictInt
    setting: Text | None = None


class RiskLevel(_Model):
    level: Text
    any_yes: tuple[LinkId, ...] = Field(min_length=1)
    flag: Text | None = None


class RiskRule(_Model):
    """Triage levels, highest first; the first level with a yes answer wins."""

    source: Text
    levels: tuple[RiskLevel, ...] = Field(min_length=1)
    otherwise: Text


class Response(_Model):
    min_reduction_percent: Number
    source: Text


class Remission(_Model):
    operator: Literal["<", "<="]
    threshold: Number
    source: Text


class Mcid(_Model):
    min_reduction_points: Number
    source: Text


class InstrumentDefinition(_Model):
    """One instrument: items, scoring rule and interpretation, all as data."""

    key: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    version: Text
    title: Text
    description: Text | None = None
    kind: Literal["self_report", "clinician"]
    licence: Text
    wording_licensed: StrictBool
    source: Text
    code: Coding
    total_code: Coding | None = None
    items: tuple[Item, ...] = Field(min_length=1)
    scoring: Scoring
    completeness: Literal["all_required"]
    subscales: tuple[Subscale, ...] = ()
    bands: Bands | None = None
    flags: tuple[FlagRule, ...] = ()
    risk: RiskRule | None = None
    response: Response | None = None
    remission: Remission | None = None
    mcid: Mcid | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> InstrumentDefinition:
        _check_items(self)
        _check_scoring(self)
        _check_bands(self)
        _check_rules(self)
        return self

    def item(self, link_id: str) -> Item:
        """The item with this link_id (KeyError if there is none)."""
        for item in self.items:
            if item.link_id == link_id:
                return item
        raise KeyError(link_id)

    @functools.cached_property
    def link_ids(self) -> frozenset[str]:
        """Every item's link_id."""
        return frozenset(item.link_id for item in self.items)

    @property
    def has_total(self) -> bool:
        return self.scoring.method != "none"

    @functools.cached_property
    def total_range(self) -> tuple[int, int] | None:
        """Lowest and highest possible total, or None for instruments without one (worked
        out once per parsed definition: definitions are frozen and kept per process)."""
        scored = [item for item in self.items if item.scored]
        if self.scoring.method == "sum":
            return sum(min(i.values) for i in scored), sum(max(i.values) for i in scored)
        if self.scoring.method == "domain_max":
            groups = [[self.item(link) for link in d.items] for d in self.scoring.domains]
            lows = sum(min(min(i.values) for i in group) for group in groups)
            return lows, sum(max(max(i.values) for i in group) for group in groups)
        return None


def _check_items(definition: InstrumentDefinition) -> None:
    seen: dict[str, Item] = {}
    for index, item in enumerate(definition.items):
        if item.link_id in seen:
            raise ValueError(f"items[{index}].link_id: duplicate link_id {item.link_id!r}")
        condition = item.enable_when
        if condition is not None:
            target = seen.get(condition.item)
            where = f"items[{index}].enable_when"
            if target is None:
                raise ValueError(f"{where}.item: {condition.item!r} is not an earlier item")
            if _answer_problem(target, condition.value) is not None:
                raise ValueError(
                    f"{where}.value: {condition.value!r} is not an answer of {target.link_id}"
                )
        seen[item.link_id] = item


def _check_scoring(definition: InstrumentDefinition) -> None:
    scored = [item.link_id for item in definition.items if item.scored]
    method = definition.scoring.method
    in_domains = [link for domain in definition.scoring.domains for link in domain.items]
    if method == "none":
        parts = ("bands", "response", "remission", "mcid", "total_code", "subscales")
        present = [name for name in parts if getattr(definition, name)] + scored
        if present:
            raise ValueError(f"scoring.method: 'none' (no total) cannot have {', '.join(present)}")
        return
    if not scored:
        raise ValueError("scoring.method: a scored instrument needs at least one scored item")
    if method == "sum":
        if in_domains:
            raise ValueError("scoring.domains: only the 'domain_max' method uses domains")
        optional = [link for link in scored if not definition.item(link).required]
        if optional:
            raise ValueError(f"items: scored items must be required under 'sum': {optional}")
    elif sorted(in_domains) != sorted(scored):
        raise ValueError("scoring.domains: every scored item must be in exactly one domain")
    for index, subscale in enumerate(definition.subscales):
        stray = [link for link in subscale.items if link not in scored]
        if stray:
            raise ValueError(f"subscales[{index}].items: not scored items: {stray}")


def _check_bands(definition: InstrumentDefinition) -> None:
    if definition.bands is None:
        return
    total_range = definition.total_range
    if total_range is None:
        raise ValueError("bands: an instrument without a total cannot have bands")
    expected = total_range[0]
    for index, band in enumerate(definition.bands.ranges):
        where = f"bands.ranges[{index}]"
        if band.min != expected:
            raise ValueError(f"{where}.min: expected {expected} so bands are contiguous")
        if band.max < band.min:
            raise ValueError(f"{where}.max: {band.max} is below min {band.min}")
        expected = band.max + 1
    if expected - 1 != total_range[1]:
        raise ValueError(f"bands.ranges: last band must end at the maximum total {total_range[1]}")


def _check_rules(definition: InstrumentDefinition) -> None:
    items = {item.link_id: item for item in definition.items}
    for index, flag in enumerate(definition.flags):
        if flag.item is None and not definition.has_total:
            raise ValueError(f"flags[{index}].item: a total flag needs an instrument with a total")
        if flag.item is not None and items.get(flag.item, None) is None:
            raise ValueError(f"flags[{index}].item: unknown item {flag.item!r}")
        if flag.item is not None and items[flag.item].type != "choice":
            raise ValueError(f"flags[{index}].item: {flag.item!r} is not a choice item")
    if definition.risk is None:
        return
    for index, level in enumerate(definition.risk.levels):
        for link in level.any_yes:
            if link not in items or items[link].type != "boolean":
                raise ValueError(f"risk.levels[{index}].any_yes: {link!r} is not a yes/no item")


def _error_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def load_definition(data: Mapping[str, Any], *, origin: str | None = None) -> InstrumentDefinition:
    """Validate a definition from parsed JSON; raise DefinitionError naming each bad field."""
    try:
        return InstrumentDefinition.model_validate(data)
    except ValidationError as exc:
        name = origin or str(data.get("key", "<no key>"))
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            path = _error_path(error["loc"])
            problems.append(f"{path}: {message}" if path else message)
        raise DefinitionError(f"instrument definition {name}: " + "; ".join(problems)) from exc


@functools.cache
def _builtin_definitions() -> tuple[InstrumentDefinition, ...]:
    folder = resources.files("katclinic.measures").joinpath("instruments")
    definitions = []
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".json"):
            continue
        definition = load_definition(
            json.loads(entry.read_text(encoding="utf-8")), origin=entry.name
        )
        if f"{definition.key}.json" != entry.name:
            raise DefinitionError(f"{entry.name}: file name must be the key {definition.key!r}")
        definitions.append(definition)
    return tuple(definitions)


def load_builtin_instruments() -> dict[str, InstrumentDefinition]:
    """The shipped instrument definitions by key (parsed once, then cached)."""
    return {definition.key: definition for definition in _builtin_definitions()}


def with_clinic_wording(
    definition: InstrumentDefinition, wording: Mapping[str, str]
) -> InstrumentDefinition:
    """Return a copy whose item texts come from ``wording`` ({link_id: text}).

    For instruments whose wording needs a licence: the clinic supplies the licensed
    text and the result is marked ``wording_licensed``. Scoring is unchanged.
    """
    unknown = sorted(set(wording) - {item.link_id for item in definition.items})
    if unknown:
        raise DefinitionError(f"clinic wording for {definition.key}: unknown items {unknown}")
    data = definition.model_dump(mode="json", exclude_none=True)
    for item in data["items"]:
        item["text"] = wording.get(item["link_id"], item["text"])
    data["wording_licensed"] = True
    return load_definition(data, origin=f"{definition.key} with clinic wording")


def load_clinic_wording(definition: InstrumentDefinition, path: Path) -> InstrumentDefinition:
    """Overlay item wording from a clinic-held JSON file of the form {link_id: text}."""
    try:
        wording = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DefinitionError(f"clinic wording file {path.name}: {exc}") from exc
    if not isinstance(wording, dict) or not all(isinstance(v, str) for v in wording.values()):
        raise DefinitionError(f"clinic wording file {path.name}: expected {{link_id: text}}")
    return with_clinic_wording(definition, wording)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class AnswerError:
    """One problem with a set of answers, for display next to the item."""

    link_id: str
    kind: Literal["unknown_item", "invalid_answer", "missing", "disabled"]
    message: str


class InvalidAnswers(ValueError):
    """Raised by ``score`` when answers are wrong (not merely incomplete)."""

    def __init__(self, errors: list[AnswerError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.link_id}: {e.message}" for e in errors))


def _answer_problem(item: Item, value: int | bool) -> str | None:
    if item.type == "boolean":
        return None if isinstance(value, bool) else f"expects yes or no (true/false), got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int) or value not in item.values:
        return f"expects one of {list(item.values)}, got {value!r}"
    return None


def _applicable(
    definition: InstrumentDefinition, answers: Mapping[str, Answer]
) -> tuple[set[str], dict[str, int | bool]]:
    """Items that apply under enable_when, and the valid answers to those items.

    Conditions only look at earlier items, so one pass in item order is enough; an
    item whose condition item is unanswered or not applicable does not apply.
    """
    enabled: set[str] = set()
    usable: dict[str, int | bool] = {}
    for item in definition.items:
        condition = item.enable_when
        if condition is not None:
            current = usable.get(condition.item)
            if current is None or not _COMPARE[condition.operator](current, condition.value):
                continue
        enabled.add(item.link_id)
        value = answers.get(item.link_id)
        if value is not None and _answer_problem(item, value) is None:
            usable[item.link_id] = value
    return enabled, usable


def _shown(value: int | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _item_error(item: Item, value: Answer, enabled: set[str]) -> AnswerError | None:
    link = item.link_id
    if link not in enabled:
        if value is None:
            return None
        condition = item.enable_when
        rule = (
            f"{condition.item} {condition.operator} {_shown(condition.value)}" if condition else ""
        )
        return AnswerError(
            link, "disabled", f"answered, but this question applies only when {rule}"
        )
    if value is None:
        return AnswerError(link, "missing", "required answer is missing") if item.required else None
    problem = _answer_problem(item, value)
    return AnswerError(link, "invalid_answer", problem) if problem else None


def _domain_gaps(
    definition: InstrumentDefinition, usable: Mapping[str, int | bool]
) -> list[AnswerError]:
    """A domain of only optional items still needs one answer (e.g. QIDS appetite/weight)."""
    gaps = []
    for domain in definition.scoring.domains:
        optional = all(not definition.item(link).required for link in domain.items)
        if optional and not any(link in usable for link in domain.items):
            message = f"answer at least one of {', '.join(domain.items)} ({domain.label})"
            gaps.append(AnswerError(domain.items[0], "missing", message))
    return gaps


def validate_answers(
    definition: InstrumentDefinition, answers: Mapping[str, Answer]
) -> list[AnswerError]:
    """Every problem with ``answers``: unknown item, answer not among the options,
    missing required answer, or an answer to a question that does not apply."""
    return _checked(definition, answers)[0]


def _checked(
    definition: InstrumentDefinition, answers: Mapping[str, Answer]
) -> tuple[list[AnswerError], set[str], dict[str, int | bool]]:
    """``validate_answers``'s errors with the applicable items and usable answers it found."""
    known = definition.link_ids
    errors = [
        AnswerError(link, "unknown_item", f"not an item of {definition.title}")
        for link in answers
        if link not in known
    ]
    enabled, usable = _applicable(definition, answers)
    for item in definition.items:
        error = _item_error(item, answers.get(item.link_id), enabled)
        if error is not None:
            errors.append(error)
    return errors + _domain_gaps(definition, usable), enabled, usable


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ScoreResult:
    """Outcome of scoring one set of answers; every field is JSON-friendly.

    ``total`` is None when the answers are incomplete or the instrument has no
    total (C-SSRS). Item flags are raised even from incomplete answers.
    """

    instrument: str
    version: str
    complete: bool
    total: int | None
    subscales: dict[str, int | None]
    band: str | None
    flags: tuple[str, ...]
    risk: str | None
    missing: tuple[str, ...]


def _total(definition: InstrumentDefinition, usable: Mapping[str, int | bool]) -> int | None:
    if definition.scoring.method == "sum":
        return sum(int(usable[item.link_id]) for item in definition.items if item.scored)
    if definition.scoring.method == "domain_max":
        return sum(
            max(int(usable[link]) for link in domain.items if link in usable)
            for domain in definition.scoring.domains
        )
    return None


def _band(definition: InstrumentDefinition, total: int | None) -> str | None:
    if total is None or definition.bands is None:
        return None
    return next(b.label for b in definition.bands.ranges if b.min <= total <= b.max)


def _risk(
    definition: InstrumentDefinition, enabled: set[str], usable: Mapping[str, int | bool]
) -> tuple[str | None, tuple[str, ...]]:
    """Highest triage level with a yes; None while an unanswered item could raise it."""
    if definition.risk is None:
        return None, ()
    for level in definition.risk.levels:
        if any(usable.get(link) is True for link in level.any_yes):
            return level.level, (level.flag,) if level.flag else ()
        if any(link in enabled and link not in usable for link in level.any_yes):
            return None, ()
    return definition.risk.otherwise, ()


def _flags(
    definition: InstrumentDefinition,
    usable: Mapping[str, int | bool],
    total: int | None,
    flag_values: Mapping[str, int],
) -> tuple[str, ...]:
    raised = []
    for rule in definition.flags:
        value = total if rule.item is None else usable.get(rule.item)
        limit = flag_values.get(rule.code, rule.value)
        if value is not None and _COMPARE[rule.operator](value, limit):
            raised.append(rule.code)
    return tuple(raised)


def domain_scores(
    definition: InstrumentDefinition, answers: Mapping[str, Answer]
) -> dict[str, int | None]:
    """Each ``domain_max`` domain's score (its highest answered item), None while unanswered."""
    _enabled, usable = _applicable(definition, answers)
    scores: dict[str, int | None] = {}
    for domain in definition.scoring.domains:
        values = [int(usable[link]) for link in domain.items if link in usable]
        scores[domain.key] = max(values) if values else None
    return scores


def score(
    definition: InstrumentDefinition,
    answers: Mapping[str, Answer],
    *,
    flag_values: Mapping[str, int] | None = None,
) -> ScoreResult:
    """Score ``answers``; raise InvalidAnswers if any answer is wrong rather than missing.

    ``flag_values`` maps a flag's code to the clinic's own value for that rule.
    """
    errors, result = assess(definition, answers, flag_values=flag_values)
    if result is None:
        raise InvalidAnswers([error for error in errors if error.kind != "missing"])
    return result


def assess(
    definition: InstrumentDefinition,
    answers: Mapping[str, Answer],
    *,
    flag_values: Mapping[str, int] | None = None,
) -> tuple[list[AnswerError], ScoreResult | None]:
    """``validate_answers`` and ``score`` with the answers checked once: every problem with
    ``answers``, and their score, or None when an answer is wrong rather than missing."""
    errors, enabled, usable = _checked(definition, answers)
    if any(error.kind != "missing" for error in errors):
        return errors, None
    missing = tuple(dict.fromkeys(error.link_id for error in errors))
    total = _total(definition, usable) if not missing else None
    subscales = {
        sub.key: sum(int(usable[link]) for link in sub.items)
        if all(link in usable for link in sub.items)
        else None
        for sub in definition.subscales
    }
    risk, risk_flags = _risk(definition, enabled, usable)
    return errors, ScoreResult(
        instrument=definition.key,
        version=definition.version,
        complete=not missing,
        total=total,
        subscales=subscales,
        band=_band(definition, total),
        flags=_flags(definition, usable, total, flag_values or {}) + risk_flags,
        risk=risk,
        missing=missing,
    )


# --------------------------------------------------------------------------- course


@dataclass(frozen=True)
class Criterion:
    """Whether one outcome criterion is met, with the rule that was applied."""

    met: bool
    instrument: str
    rule: str
    threshold: float
    source: str


@dataclass(frozen=True)
class CourseChange:
    """Change from baseline to latest total. Criteria are None when the instrument
    defines none; ``percent_change`` is None when the baseline is 0."""

    instrument: str
    baseline_total: int
    latest_total: int
    change: int
    percent_change: float | None
    response: Criterion | None
    remission: Criterion | None
    mcid: Criterion | None


def _response(definition: InstrumentDefinition, baseline: int, reduction: int) -> Criterion | None:
    rule = definition.response
    if rule is None:
        return None
    pct = rule.min_reduction_percent
    met = baseline > 0 and reduction * 100 >= pct * baseline
    text = f"response: reduction of at least {pct:g}% from baseline"
    return Criterion(met, definition.key, text, pct, rule.source)


def _remission(definition: InstrumentDefinition, latest: int) -> Criterion | None:
    rule = definition.remission
    if rule is None:
        return None
    met = _COMPARE[rule.operator](latest, rule.threshold)
    text = f"remission: total {rule.operator} {rule.threshold:g}"
    return Criterion(met, definition.key, text, rule.threshold, rule.source)


def _mcid(definition: InstrumentDefinition, reduction: int) -> Criterion | None:
    rule = definition.mcid
    if rule is None:
        return None
    points = rule.min_reduction_points
    text = f"minimal clinically important difference: reduction of at least {points:g} points"
    return Criterion(reduction >= points, definition.key, text, points, rule.source)


def course_change(
    definition: InstrumentDefinition, baseline_total: int, latest_total: int
) -> CourseChange:
    """Compare a baseline total with the latest one (lower totals are better)."""
    total_range = definition.total_range
    if total_range is None:
        raise ValueError(f"{definition.title} has no total to compare")
    for name, value in (("baseline_total", baseline_total), ("latest_total", latest_total)):
        if not total_range[0] <= value <= total_range[1]:
            raise ValueError(f"{name} {value} is outside {total_range[0]}-{total_range[1]}")
    reduction = baseline_total - latest_total
    percent = None if baseline_total == 0 else round(-100 * reduction / baseline_total, 1)
    return CourseChange(
        instrument=definition.key,
        baseline_total=baseline_total,
        latest_total=latest_total,
        change=-reduction,
        percent_change=percent,
        response=_response(definition, baseline_total, reduction),
        remission=_remission(definition, latest_total),
        mcid=_mcid(definition, reduction),
    )
