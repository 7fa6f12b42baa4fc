"""Suitability decision support for ketamine treatment: pure functions, no database.

Two parts, both giving the prescriber a suggestion with its reasons, never a decision:

- Screening. The rules are data (`rules/eligibility.json`); `evaluate` applies them
  to one patient's answers for one route and suggests `eligible`, `needs_review` or
  `not_eligible`, listing every reason and every unanswered fact. An unanswered fact
  never counts in the patient's favour: it makes the suggestion at least
  `needs_review`.
- Treatment-resistant depression (TRD). `trd_status` counts failed adequate
  antidepressant trials in the current episode.

Route `intranasal` means esketamine nasal spray (Spravato); the other routes are
off-label racemic ketamine. Every threshold is a parameter or a clinic setting whose
shipped default cites its source.
"""

import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

type Number = Decimal | int
type Severity = Literal["exclude", "needs_review", "caution"]
type Suggestion = Literal["eligible", "needs_review", "not_eligible"]
type Op = Literal["is_true", "gt", "gte", "lt", "lte"]
type Adherence = Literal["good", "partial", "poor"]

ROUTES: Final = ("iv", "intranasal", "sublingual", "oral", "im", "sc")
SEVERITIES: Final = ("exclude", "needs_review", "caution")  # most severe first
OPS: Final = ("is_true", "gt", "gte", "lt", "lte")
ADHERENCE_LEVELS: Final = ("good", "partial", "poor")
DEFAULT_RULES_PATH: Final = Path(__file__).resolve().parent / "rules" / "eligibility.json"

# The Spravato label asks for a benefit/risk judgement when baseline BP is above
# 140/90 (https://www.rxreasoner.com/indications/I-339763). For racemic routes the
# same 140/90 is only a suggested default that could not be verified (the APA
# consensus figures were unreadable), so each clinic's medical director confirms it.
DEFAULT_SETTINGS: Final[Mapping[str, Number]] = MappingProxyType(
    {"predose_systolic_limit_mmhg": 140, "predose_diastolic_limit_mmhg": 90}
)


# --- Screening facts -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ScreeningFacts:
    """One patient's screening answers. None means "not answered yet"."""

    aneurysmal_vascular_disease: bool | None = None  # aorta, intracranial or peripheral
    arteriovenous_malformation: bool | None = None
    intracerebral_hemorrhage_history: bool | None = None
    hypersensitivity_ketamine: bool | None = None  # esketamine, ketamine or an excipient
    uncontrolled_hypertension: bool | None = None
    unstable_cardiac_disease: bool | None = None  # also arrhythmia, cerebrovascular disease
    raised_icp_or_iop: bool | None = None  # intracranial or intraocular pressure
    severe_liver_disease: bool | None = None  # for esketamine: Child-Pugh class C
    pregnant_or_breastfeeding: bool | None = None
    psychosis_history: bool | None = None  # schizophrenia-spectrum or psychotic disorder
    current_mania: bool | None = None
    bipolar_without_mood_stabiliser: bool | None = None
    substance_use_disorder_active: bool | None = None
    ketamine_or_pcp_use_disorder: bool | None = None
    cognitive_impairment: bool | None = None
    maoi: bool | None = None
    benzodiazepine: bool | None = None
    psychostimulant: bool | None = None
    cns_depressant: bool | None = None  # other than benzodiazepines, e.g. hypnotics
    baseline_systolic_mmhg: Number | None = None
    baseline_diastolic_mmhg: Number | None = None

    def __post_init__(self) -> None:
        # A stray "yes" string must not read as "no": refuse anything untyped.
        for name, kind in FACT_KINDS.items():
            value = getattr(self, name)
            if value is None or _fits_kind(value, kind):
                continue
            wanted = "True, False" if kind == "flag" else "an int or finite Decimal"
            raise TypeError(f"screening fact {name!r} must be {wanted} or None, got {value!r}")

    def answer(self, fact: str) -> bool | Number | None:
        """The answer for `fact`, a key of FACT_KINDS."""
        return cast(bool | Number | None, getattr(self, fact))


_NUMBER_FACTS: Final = frozenset({"baseline_systolic_mmhg", "baseline_diastolic_mmhg"})

#: Every screening fact key, and whether it is a yes/no "flag" or a "number".
FACT_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {f.name: "number" if f.name in _NUMBER_FACTS else "flag" for f in fields(ScreeningFacts)}
)


def _fits_kind(value: object, kind: str) -> bool:
    if kind == "flag":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    return not isinstance(value, Decimal) or value.is_finite()


# --- Rules -----------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _web_address(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) address")
    return value


_Text = Annotated[str, AfterValidator(_not_blank)]
_RULE_CONFIG: Final = ConfigDict(frozen=True, extra="forbid")
_KEY_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*$")


class Citation(BaseModel):
    model_config = _RULE_CONFIG

    label: _Text
    url: Annotated[_Text, AfterValidator(_web_address)]


class Condition(BaseModel):
    """`is_true` for a flag; otherwise compare a number with the named clinic setting."""

    model_config = _RULE_CONFIG

    op: Op
    setting: _Text | None = None


class _FieldProblem(ValueError):
    """A check across fields, naming the field (a dotted path) it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _fact_key(value: str) -> str:
    if value not in FACT_KINDS:
        raise ValueError(f"must be one of {', '.join(FACT_KINDS)}; got {value!r}")
    return value


def _route(value: str) -> str:
    if value not in ROUTES:
        raise ValueError(f"must be one of {', '.join(ROUTES)}; got {value!r}")
    return value


def _route_list(value: object) -> object:
    """Every route for "all"; a list must name each route only once."""
    if value == "all":
        return list(ROUTES)
    if isinstance(value, str):
        raise ValueError('must be "all" or a list of routes')
    if isinstance(value, list) and len(set(map(str, value))) != len(value):
        raise ValueError("lists a route twice")
    return value


class Rule(BaseModel):
    model_config = _RULE_CONFIG

    key: Annotated[str, Field(pattern=_KEY_PATTERN.pattern)]
    title: _Text
    fact: Annotated[str, AfterValidator(_fact_key)]
    condition: Condition
    routes: Annotated[
        frozenset[Annotated[str, AfterValidator(_route)]],
        BeforeValidator(_route_list),
        Field(min_length=1),
    ]
    severity: Severity
    explanation: _Text
    source: Citation

    @model_validator(mode="after")
    def _condition_fits_fact(self) -> Self:
        op, kind = self.condition.op, FACT_KINDS[self.fact]
        if op == "is_true" and kind != "flag":
            raise _FieldProblem(
                "condition.op", f"is_true needs a yes/no fact; {self.fact!r} is a number"
            )
        if op == "is_true" and self.condition.setting is not None:
            raise _FieldProblem("condition.setting", "is not used with is_true")
        if op != "is_true" and kind != "number":
            raise _FieldProblem(
                "condition.op", f"{op} needs a numeric fact; {self.fact!r} is yes/no"
            )
        if op != "is_true" and self.condition.setting is None:
            raise _FieldProblem(
                "condition.setting", f"{op} needs the clinic setting to compare with"
            )
        return self


@dataclass(frozen=True, slots=True)
class Reason:
    """A rule that fired, with what in the answers fired it (`detail`)."""

    rule_key: str
    title: str
    severity: Severity
    explanation: str
    source: Citation
    detail: str


@dataclass(frozen=True, slots=True)
class EligibilitySuggestion:
    """The suggestion for one route; `reasons` are most severe first."""

    route: str
    suggestion: Suggestion
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]  # fact keys the route's rules read but nobody answered


class RulesFileError(ValueError):
    """The rules file cannot be used; the message names the rule key and field."""


class MissingSettingError(KeyError):
    """A rule's threshold setting is not among the clinic's settings."""


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """Read and check the rules file; the default is the one shipped with the app."""
    source = DEFAULT_RULES_PATH if path is None else Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RulesFileError(f"{source.name}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesFileError(f"{source.name}: expected an object with a 'rules' list")
    rules = [_parse_rule(index, raw) for index, raw in enumerate(document["rules"])]
    seen: set[str] = set()
    for rule in rules:
        if rule.key in seen:
            raise RulesFileError(f"rule {rule.key!r}: field 'key' is used by another rule")
        seen.add(rule.key)
    return rules


def _parse_rule(index: int, raw: object) -> Rule:
    """One rule; a problem is named by the rule's key (or its place) and the field's path."""
    key = raw.get("key") if isinstance(raw, dict) else None
    named = isinstance(key, str) and _KEY_PATTERN.fullmatch(key)
    where = f"rule {key!r}" if named else f"rule #{index + 1}"
    try:
        return Rule.model_validate(raw)
    except ValidationError as exc:
        raise RulesFileError(f"{where}: {_first_problem(exc)}") from exc


def _first_problem(error: ValidationError) -> str:
    """The first problem as "field 'a.b': what is wrong" (the dotted path inside the rule)."""
    item = error.errors()[0]
    problem = item.get("ctx", {}).get("error")
    path = ".".join(part for part in item["loc"] if isinstance(part, str))
    if isinstance(problem, _FieldProblem):
        path = problem.field
    message = str(problem) if isinstance(problem, ValueError) else item["msg"]
    return f"field {path!r}: {message}" if path else message


# --- Evaluation ------------------------------------------------------------------

_COMPARE: Final[Mapping[str, tuple[Callable[[Any, Any], bool], str]]] = {
    "gt": (operator.gt, "above"),
    "gte": (operator.ge, "at or above"),
    "lt": (operator.lt, "below"),
    "lte": (operator.le, "at or below"),
}
_RANK: Final = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def evaluate(
    rules: Sequence[Rule],
    facts: ScreeningFacts,
    route: str,
    settings: Mapping[str, Number],
) -> EligibilitySuggestion:
    """Suggest eligibility for `route`, with every triggered reason and missing fact.

    Any `exclude` reason gives `not_eligible`; otherwise any `needs_review` reason
    or any unanswered fact gives `needs_review`; `caution` reasons alone leave the
    patient `eligible`. A setting a rule needs but `settings` lacks raises
    MissingSettingError: a misconfigured clinic must not get a silent answer.
    """
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    reasons: list[Reason] = []
    missing: dict[str, None] = {}  # an ordered set
    for rule in rules:
        if route not in rule.routes:
            continue
        threshold = _threshold(rule, settings)
        value = facts.answer(rule.fact)
        if value is None:
            missing[rule.fact] = None
            continue
        detail = _fired(rule.condition, value, threshold)
        if detail is not None:
            reasons.append(_reason(rule, detail))
    reasons.sort(key=lambda reason: _RANK[reason.severity])
    return EligibilitySuggestion(
        route=route,
        suggestion=_overall(reasons, has_missing=bool(missing)),
        reasons=tuple(reasons),
        missing=tuple(missing),
    )


def _threshold(rule: Rule, settings: Mapping[str, Number]) -> Number | None:
    setting = rule.condition.setting
    if setting is None:
        return None
    if setting not in settings:
        raise MissingSettingError(f"rule {rule.key!r} needs the clinic setting {setting!r}")
    return settings[setting]


def _fired(condition: Condition, value: bool | Number, threshold: Number | None) -> str | None:
    """What made the condition true, or None when it is false."""
    if condition.op == "is_true":
        return "answered yes" if value is True else None
    compare, words = _COMPARE[condition.op]
    if not compare(value, threshold):
        return None
    return f"{value} is {words} the limit of {threshold} (setting {condition.setting})"


def _reason(rule: Rule, detail: str) -> Reason:
    return Reason(
        rule_key=rule.key,
        title=rule.title,
        severity=rule.severity,
        explanation=rule.explanation,
        source=rule.source,
        detail=detail,
    )


def _overall(reasons: Sequence[Reason], *, has_missing: bool) -> Suggestion:
    severities = {reason.severity for reason in reasons}
    if "exclude" in severities:
        return "not_eligible"
    if "needs_review" in severities or has_missing:
        return "needs_review"
    return "eligible"


# --- Treatment-resistant depression ----------------------------------------------

# TRD is failure of at least 2 antidepressants of adequate dose and duration in the
# current episode; the esketamine phase 3 programme counted a trial as failed after
# at least 6 weeks with at most 25% improvement.
TRD_PHASE3_SOURCE: Final = Citation(
    label="Esketamine phase 3 TRD operationalisation",
    url="https://link.springer.com/10.1186/s12888-021-03538-y",
)
# Staging: under 25% improvement is non-response, 25-49% partial response. This is
# the boundary used here, so exactly 25% is a partial response and does not count
# (phase 3 counted it); the stricter reading never inflates the count.
TRD_STAGING_SOURCE: Final = Citation(
    label="ASCP corner: assessing adequacy of past antidepressant trials",
    url="https://dev2.psychiatrist.com/jcp/ascp-corner-assessing-adequacy-past-antidepressant",
)
TRD_MIN_WEEKS: Final = 6  # phase 3 source
TRD_MAX_IMPROVEMENT_PERCENT: Final = 25  # phase 3 and staging sources, strict "under"
TRD_REQUIRED_FAILURES: Final = 2  # phase 3 source (TRD definition)


@dataclass(frozen=True, kw_only=True, slots=True)
class AntidepressantTrial:
    """One antidepressant trial from the treatment history (MGH-ATRQ style).

    `adequate_dose_mg` is the minimum adequate daily dose for this drug, entered by
    the prescriber or taken from the clinic's own table; None (unknown) or a missing
    `improvement_percent` means the trial cannot be counted.
    """

    drug: str
    max_daily_dose_mg: Number
    adequate_dose_mg: Number | None
    weeks_at_dose: Number
    adherence: Adherence
    improvement_percent: Number | None  # negative means the patient got worse
    current_episode: bool

    def __post_init__(self) -> None:
        if not self.drug.strip():
            raise ValueError("drug must be named")
        if self.adherence not in ADHERENCE_LEVELS:
            raise ValueError(f"adherence must be one of {ADHERENCE_LEVELS}, got {self.adherence!r}")
        for name in ("max_daily_dose_mg", "adequate_dose_mg", "weeks_at_dose"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative, got {value}")
        if self.improvement_percent is not None and self.improvement_percent > 100:
            raise ValueError(
                f"improvement_percent cannot exceed 100, got {self.improvement_percent}"
            )


@dataclass(frozen=True, slots=True)
class TrdStatus:
    met: bool
    counting_trials: list[AntidepressantTrial]  # one per drug, in the order given
    explanation: str


def trial_is_adequate_failure(
    trial: AntidepressantTrial,
    *,
    min_weeks: Number = TRD_MIN_WEEKS,
    max_improvement_percent: Number = TRD_MAX_IMPROVEMENT_PERCENT,
) -> bool:
    """True when the trial reached an adequate dose for at least `min_weeks`, with
    adherence better than poor, and improved by less than `max_improvement_percent`.

    Sources: TRD_PHASE3_SOURCE (6 weeks, 25%) and TRD_STAGING_SOURCE (under 25% is
    non-response). Whether the trial is in the current episode is for `trd_status`.
    """
    return not _shortfalls(trial, min_weeks, max_improvement_percent)


def _shortfalls(
    trial: AntidepressantTrial, min_weeks: Number, max_improvement: Number
) -> list[str]:
    """Why the trial is not a failed adequate trial; empty when it is."""
    found: list[str] = []
    if trial.adequate_dose_mg is None:
        found.append("adequate dose not recorded")
    elif trial.max_daily_dose_mg < trial.adequate_dose_mg:
        found.append(
            f"{trial.max_daily_dose_mg} mg is below the adequate {trial.adequate_dose_mg} mg"
        )
    if trial.weeks_at_dose < min_weeks:
        found.append(f"{trial.weeks_at_dose} weeks at dose, fewer than {min_weeks}")
    if trial.adherence == "poor":
        found.append("poor adherence")
    if trial.improvement_percent is None:
        found.append("improvement not recorded")
    elif trial.improvement_percent >= max_improvement:
        found.append(f"{trial.improvement_percent}% improvement is not under {max_improvement}%")
    return found


def trd_status(
    trials: Iterable[AntidepressantTrial],
    *,
    required_failures: int = TRD_REQUIRED_FAILURES,
    min_weeks: Number = TRD_MIN_WEEKS,
    max_improvement_percent: Number = TRD_MAX_IMPROVEMENT_PERCENT,
) -> TrdStatus:
    """Whether failed adequate trials of at least `required_failures` different
    antidepressants are recorded in the current episode (TRD_PHASE3_SOURCE)."""
    if required_failures < 1:
        raise ValueError("required_failures must be at least 1")
    counting: list[AntidepressantTrial] = []
    not_counted: list[str] = []
    for trial in trials:
        why_not = _shortfalls(trial, min_weeks, max_improvement_percent)
        if not trial.current_episode:
            why_not.insert(0, "earlier episode")
        if not why_not and _same_drug_counted(trial, counting):
            why_not.append("this drug already counts once")
        if why_not:
            not_counted.append(f"{trial.drug} ({'; '.join(why_not)})")
        else:
            counting.append(trial)
    met = len(counting) >= required_failures
    explanation = _trd_explanation(
        met, counting, not_counted, required_failures, min_weeks, max_improvement_percent
    )
    return TrdStatus(met=met, counting_trials=counting, explanation=explanation)


def _same_drug_counted(trial: AntidepressantTrial, counting: Sequence[AntidepressantTrial]) -> bool:
    # TRD counts different antidepressants, so a repeated trial of one drug counts once.
    name = trial.drug.strip().casefold()
    return any(other.drug.strip().casefold() == name for other in counting)


def _trd_explanation(
    met: bool,
    counting: Sequence[AntidepressantTrial],
    not_counted: Sequence[str],
    required: int,
    min_weeks: Number,
    max_improvement: Number,
) -> str:
    drugs = ", ".join(trial.drug for trial in counting) or "none"
    parts = [
        f"TRD criterion {'met' if met else 'not met'}: {len(counting)} failed adequate "
        f"trial(s) in the current episode ({drugs}); {required} required."
    ]
    if not_counted:
        parts.append(f"Not counted: {'; '.join(not_counted)}.")
    parts.append(
        f"A failed adequate trial means an adequate dose for at least {min_weeks} weeks, "
        f"adherence better than poor, and under {max_improvement}% improvement "
        f"({TRD_PHASE3_SOURCE.label}; {TRD_STAGING_SOURCE.label})."
    )
    return " ".join(parts)


TRD_RULE_KEY: Final = "trd_not_met"


def with_trd(suggestion: EligibilitySuggestion, trd: TrdStatus) -> EligibilitySuggestion:
    """The suggestion with the TRD criterion as one more reason when it is not met.

    Unmet, it counts as a `needs_review` reason (the same severity the rules file gives to
    findings a prescriber must weigh), so the suggestion is at least "needs review" and the
    reason is listed with the others; met, the suggestion is unchanged.
    """
    if trd.met:
        return suggestion
    reason = Reason(
        rule_key=TRD_RULE_KEY,
        title="Treatment-resistance criterion not met",
        severity="needs_review",
        explanation=trd.explanation,
        source=TRD_PHASE3_SOURCE,
        detail=f"{len(trd.counting_trials)} failed adequate trial(s) counted",
    )
    reasons = sorted((*suggestion.reasons, reason), key=lambda r: _RANK[r.severity])
    return EligibilitySuggestion(
        route=suggestion.route,
        suggestion=_overall(reasons, has_missing=bool(suggestion.missing)),
        reasons=tuple(reasons),
        missing=suggestion.missing,
    )
