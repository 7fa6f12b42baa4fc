"""Suitability rules and the TRD rule: pure functions, no database."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from katclinic.intake.eligibility import (
    DEFAULT_RULES_PATH,
    DEFAULT_SETTINGS,
    FACT_KINDS,
    ROUTES,
    AntidepressantTrial,
    MissingSettingError,
    Rule,
    RulesFileError,
    ScreeningFacts,
    evaluate,
    load_rules,
    trd_status,
    trial_is_adequate_failure,
)

RULES = load_rules()
SETTINGS: dict[str, Decimal | int] = {
    "predose_systolic_limit_mmhg": 140,
    "predose_diastolic_limit_mmhg": 90,
}
RACEMIC = ("iv", "sublingual", "oral", "im", "sc")
LABEL_CONTRAINDICATIONS = "https://www.usmedicine.com/2021online-dir/inc/html/30.html"


def all_clear(**answers: Any) -> ScreeningFacts:
    """Every question answered with nothing of concern, then `answers` on top."""
    base: dict[str, Any] = {name: False for name, kind in FACT_KINDS.items() if kind == "flag"}
    base.update(baseline_systolic_mmhg=120, baseline_diastolic_mmhg=80)
    base.update(answers)
    return ScreeningFacts(**base)


def keys(route: str, facts: ScreeningFacts, settings: Any = None) -> list[str]:
    result = evaluate(RULES, facts, route, SETTINGS if settings is None else settings)
    return [reason.rule_key for reason in result.reasons]


def triggering_value(rule: Rule) -> Any:
    return True if rule.condition.op == "is_true" else 300


# --- Screening rules ---------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_all_clear_answers_are_eligible_with_no_reasons(route: str) -> None:
    result = evaluate(RULES, all_clear(), route, SETTINGS)
    assert result.suggestion == "eligible"
    assert result.reasons == ()
    assert result.missing == ()


@pytest.mark.parametrize(
    ("rule", "route"),
    [(rule, route) for rule in RULES for route in ROUTES],
    ids=[f"{rule.key}-{route}" for rule in RULES for route in ROUTES],
)
def test_each_rule_fires_on_its_routes_and_nowhere_else(rule: Rule, route: str) -> None:
    facts = all_clear(**{rule.fact: triggering_value(rule)})
    assert (rule.key in keys(route, facts)) == (route in rule.routes)


@pytest.mark.parametrize(
    "fact",
    [
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_hemorrhage_history",
        "hypersensitivity_ketamine",
    ],
)
def test_spravato_label_contraindications_exclude_intranasal(fact: str) -> None:
    result = evaluate(RULES, all_clear(**{fact: True}), "intranasal", SETTINGS)
    assert result.suggestion == "not_eligible"
    [reason] = result.reasons
    assert reason.severity == "exclude"
    assert reason.source.url == LABEL_CONTRAINDICATIONS
    assert reason.detail == "answered yes"


@pytest.mark.parametrize(
    "fact",
    [
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_hemorrhage_history",
    ],
)
@pytest.mark.parametrize("route", RACEMIC)
def test_vascular_label_contraindications_need_review_on_racemic_routes(
    fact: str, route: str
) -> None:
    result = evaluate(RULES, all_clear(**{fact: True}), route, SETTINGS)
    assert result.suggestion == "needs_review"


@pytest.mark.parametrize("route", ROUTES)
def test_hypersensitivity_excludes_on_every_route(route: str) -> None:
    result = evaluate(RULES, all_clear(hypersensitivity_ketamine=True), route, SETTINGS)
    assert result.suggestion == "not_eligible"


@pytest.mark.parametrize(
    "fact",
    [
        "psychosis_history",
        "current_mania",
        "substance_use_disorder_active",
        "ketamine_or_pcp_use_disorder",
        "pregnant_or_breastfeeding",
        "uncontrolled_hypertension",
        "unstable_cardiac_disease",
        "raised_icp_or_iop",
        "severe_liver_disease",
    ],
)
@pytest.mark.parametrize("route", RACEMIC)
def test_racemic_practice_exclusions_exclude(fact: str, route: str) -> None:
    result = evaluate(RULES, all_clear(**{fact: True}), route, SETTINGS)
    assert result.suggestion == "not_eligible"


@pytest.mark.parametrize(
    ("fact", "suggestion"),
    [
        ("severe_liver_disease", "not_eligible"),  # Child-Pugh C: label does not recommend
        ("pregnant_or_breastfeeding", "not_eligible"),
        ("ketamine_or_pcp_use_disorder", "not_eligible"),
        ("psychosis_history", "needs_review"),  # label: benefit must outweigh risk
        ("substance_use_disorder_active", "needs_review"),
        ("unstable_cardiac_disease", "needs_review"),
        ("cognitive_impairment", "needs_review"),
        ("bipolar_without_mood_stabiliser", "needs_review"),
    ],
)
def test_esketamine_severities_follow_the_label(fact: str, suggestion: str) -> None:
    result = evaluate(RULES, all_clear(**{fact: True}), "intranasal", SETTINGS)
    assert result.suggestion == suggestion


@pytest.mark.parametrize("fact", ["maoi", "benzodiazepine", "psychostimulant", "cns_depressant"])
@pytest.mark.parametrize("route", ROUTES)
def test_concomitant_medicines_are_cautions_that_stay_eligible(fact: str, route: str) -> None:
    result = evaluate(RULES, all_clear(**{fact: True}), route, SETTINGS)
    assert result.suggestion == "eligible"
    assert [reason.severity for reason in result.reasons] == ["caution"]


def test_a_review_outranks_a_caution() -> None:
    # The blood pressure rule comes after the MAOI rule in the file.
    facts = all_clear(maoi=True, baseline_systolic_mmhg=150)
    result = evaluate(RULES, facts, "intranasal", SETTINGS)
    assert result.suggestion == "needs_review"
    assert [reason.rule_key for reason in result.reasons] == [
        "baseline_systolic_above_limit",
        "concomitant_maoi",
    ]


def test_an_exclusion_outranks_everything_and_every_reason_is_listed() -> None:
    facts = all_clear(
        maoi=True,
        psychosis_history=True,
        aneurysmal_vascular_disease=True,
        intracerebral_hemorrhage_history=True,
    )
    result = evaluate(RULES, facts, "intranasal", SETTINGS)
    assert result.suggestion == "not_eligible"
    assert [reason.rule_key for reason in result.reasons] == [
        "spravato_aneurysmal_vascular_disease",
        "spravato_intracerebral_hemorrhage_history",
        "spravato_psychosis_history",
        "concomitant_maoi",
    ]


@pytest.mark.parametrize("fact", sorted(FACT_KINDS))
def test_an_unanswered_fact_makes_it_needs_review(fact: str) -> None:
    route = next(
        route for route in ROUTES for rule in RULES if rule.fact == fact and route in rule.routes
    )
    result = evaluate(RULES, all_clear(**{fact: None}), route, SETTINGS)
    assert result.suggestion == "needs_review"
    assert result.missing == (fact,)
    assert result.reasons == ()


def test_an_unanswered_fact_does_not_hide_an_exclusion() -> None:
    facts = all_clear(maoi=None, hypersensitivity_ketamine=True)
    result = evaluate(RULES, facts, "iv", SETTINGS)
    assert result.suggestion == "not_eligible"
    assert result.missing == ("maoi",)


def test_a_blank_form_lists_every_fact_the_route_reads() -> None:
    result = evaluate(RULES, ScreeningFacts(), "iv", SETTINGS)
    assert result.suggestion == "needs_review"
    assert set(result.missing) == {rule.fact for rule in RULES if "iv" in rule.routes}
    assert len(result.missing) == len(set(result.missing))


def test_a_fact_no_rule_reads_on_the_route_is_not_missing() -> None:
    # Cognitive impairment has a label source only for esketamine.
    result = evaluate(RULES, all_clear(cognitive_impairment=None), "iv", SETTINGS)
    assert result.suggestion == "eligible"
    assert result.missing == ()


@pytest.mark.parametrize(
    ("systolic", "limit", "suggestion"),
    [
        (141, 140, "needs_review"),
        (140, 140, "eligible"),
        (150, 160, "eligible"),
        (150, 145, "needs_review"),
    ],
)
def test_systolic_limit_comes_from_settings(systolic: int, limit: int, suggestion: str) -> None:
    settings = {**SETTINGS, "predose_systolic_limit_mmhg": limit}
    result = evaluate(RULES, all_clear(baseline_systolic_mmhg=systolic), "iv", settings)
    assert result.suggestion == suggestion


def test_diastolic_limit_comes_from_settings_and_accepts_decimals() -> None:
    facts = all_clear(baseline_diastolic_mmhg=Decimal("92.5"))
    strict: dict[str, Decimal | int] = {**SETTINGS, "predose_diastolic_limit_mmhg": Decimal("92")}
    lenient = {**SETTINGS, "predose_diastolic_limit_mmhg": 95}
    [reason] = evaluate(RULES, facts, "oral", strict).reasons
    assert reason.rule_key == "baseline_diastolic_above_limit"
    assert "92.5" in reason.detail and "predose_diastolic_limit_mmhg" in reason.detail
    assert evaluate(RULES, facts, "oral", lenient).suggestion == "eligible"


def test_shipped_bp_defaults_are_the_label_140_over_90() -> None:
    assert dict(DEFAULT_SETTINGS) == SETTINGS


def test_a_missing_setting_is_an_error_naming_rule_and_setting() -> None:
    with pytest.raises(MissingSettingError, match="predose_systolic_limit_mmhg"):
        evaluate(RULES, all_clear(), "iv", {"predose_diastolic_limit_mmhg": 90})


def test_an_unknown_route_is_refused() -> None:
    with pytest.raises(ValueError, match="nasal"):
        evaluate(RULES, all_clear(), "nasal", SETTINGS)


@pytest.mark.parametrize(
    ("fact", "value"),
    [
        ("maoi", "yes"),
        ("maoi", 1),
        ("baseline_systolic_mmhg", True),
        ("baseline_systolic_mmhg", 140.0),
    ],
)
def test_screening_facts_refuse_untyped_answers(fact: str, value: Any) -> None:
    with pytest.raises(TypeError, match=fact):
        ScreeningFacts(**{fact: value})


def test_every_rule_cites_a_web_source_and_explains_itself() -> None:
    for rule in RULES:
        assert rule.source.url.startswith("https://"), rule.key
        assert len(rule.explanation) > 60, rule.key


# --- Rules file errors -------------------------------------------------------------


def write_rules(tmp_path: Path, rules: list[dict[str, Any]]) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": rules}), encoding="utf-8")
    return path


def a_rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "key": "test_rule",
        "title": "A test rule",
        "fact": "maoi",
        "condition": {"op": "is_true"},
        "routes": ["iv"],
        "severity": "caution",
        "explanation": "Explains why.",
        "source": {"label": "Somewhere", "url": "https://example.org/"},
    }
    rule.update(changes)
    return {name: value for name, value in rule.items() if value is not None}


def test_a_well_formed_rules_file_loads(tmp_path: Path) -> None:
    [rule] = load_rules(write_rules(tmp_path, [a_rule(routes="all")]))
    assert rule.key == "test_rule"
    assert rule.routes == frozenset(ROUTES)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "block"}, "'severity'"),
        ({"routes": ["nasal"]}, "'routes'"),
        ({"routes": []}, "'routes'"),
        ({"routes": ["iv", "iv"]}, "'routes'"),
        ({"fact": "maoi_use"}, "'fact'"),
        ({"title": None}, "'title'"),
        ({"explanation": "  "}, "'explanation'"),
        ({"severty": "caution"}, "'severty'"),
        ({"condition": {"op": "equals"}}, "'condition.op'"),
        ({"condition": {"op": "gte"}}, "'condition.op'"),
        ({"condition": {"op": "is_true", "setting": "x"}}, "'condition.setting'"),
        ({"condition": {"op": "is_true", "value": 1}}, "'condition.value'"),
        ({"fact": "baseline_systolic_mmhg"}, "'condition.op'"),
        ({"fact": "baseline_systolic_mmhg", "condition": {"op": "gt"}}, "'condition.setting'"),
        ({"routes": "some"}, "'routes'"),
        ({"title": 3}, "'title'"),
        ({"source": {"label": "Somewhere"}}, "'source.url'"),
        ({"source": "Somewhere"}, "'source'"),
        ({"source": {"label": "Somewhere", "url": "example.org"}}, "'source.url'"),
    ],
)
def test_a_malformed_rule_names_its_key_and_field(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    path = write_rules(tmp_path, [a_rule(), a_rule(key="broken_rule", **changes)])
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert "rule 'broken_rule'" in str(caught.value)
    assert f"field {field}" in str(caught.value)


def test_a_rule_without_a_key_is_named_by_position(tmp_path: Path) -> None:
    path = write_rules(tmp_path, [a_rule(), a_rule(key=None)])
    with pytest.raises(RulesFileError, match=r"rule #2: field 'key'"):
        load_rules(path)


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, [a_rule(), a_rule()])
    with pytest.raises(RulesFileError, match=r"rule 'test_rule': field 'key'"):
        load_rules(path)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [', encoding="utf-8")
    with pytest.raises(RulesFileError, match="not valid JSON"):
        load_rules(path)


def test_the_default_path_is_the_shipped_file() -> None:
    assert load_rules(DEFAULT_RULES_PATH) == RULES


# --- Treatment-resistant depression ------------------------------------------------


def a_trial(drug: str = "drug A", **changes: Any) -> AntidepressantTrial:
    """A failed adequate trial in the current episode unless `changes` say otherwise.

    Doses are placeholders: adequacy is whatever the prescriber enters.
    """
    fields: dict[str, Any] = {
        "drug": drug,
        "max_daily_dose_mg": 100,
        "adequate_dose_mg": 100,
        "weeks_at_dose": 8,
        "adherence": "good",
        "improvement_percent": 10,
        "current_episode": True,
    }
    fields.update(changes)
    return AntidepressantTrial(**fields)


@pytest.mark.parametrize(("failures", "met"), [(0, False), (1, False), (2, True), (3, True)])
def test_trd_needs_two_failed_adequate_trials(failures: int, met: bool) -> None:
    trials = [a_trial(f"drug {n}") for n in range(failures)]
    status = trd_status(trials)
    assert status.met is met
    assert status.counting_trials == trials
    assert ("criterion met" if met else "criterion not met") in status.explanation


@pytest.mark.parametrize("improvement", [25, 30, Decimal("49.9"), 60])
def test_partial_responders_are_not_failed_trials(improvement: Any) -> None:
    trial = a_trial(improvement_percent=improvement)
    assert trial_is_adequate_failure(trial) is False
    assert trd_status([a_trial("drug B"), trial]).met is False


@pytest.mark.parametrize("improvement", [Decimal("24.9"), 0, -20])
def test_under_25_percent_improvement_is_a_failed_trial(improvement: Any) -> None:
    assert trial_is_adequate_failure(a_trial(improvement_percent=improvement)) is True


@pytest.mark.parametrize(("weeks", "adequate"), [(5, False), (Decimal("5.9"), False), (6, True)])
def test_a_trial_needs_six_weeks_at_dose(weeks: Any, adequate: bool) -> None:
    assert trial_is_adequate_failure(a_trial(weeks_at_dose=weeks)) is adequate
    assert trd_status([a_trial("drug B"), a_trial(weeks_at_dose=weeks)]).met is adequate


def test_a_dose_below_the_adequate_dose_does_not_count() -> None:
    trial = a_trial(max_daily_dose_mg=75, adequate_dose_mg=100)
    assert trial_is_adequate_failure(trial) is False
    assert "75 mg is below the adequate 100 mg" in trd_status([trial]).explanation


@pytest.mark.parametrize(
    ("adherence", "adequate"), [("poor", False), ("partial", True), ("good", True)]
)
def test_poor_adherence_does_not_count(adherence: str, adequate: bool) -> None:
    assert trial_is_adequate_failure(a_trial(adherence=adherence)) is adequate


def test_trials_from_an_earlier_episode_do_not_count() -> None:
    earlier = a_trial("drug B", current_episode=False)
    status = trd_status([a_trial(), earlier])
    assert trial_is_adequate_failure(earlier) is True
    assert status.met is False
    assert status.counting_trials == [a_trial()]
    assert "drug B (earlier episode)" in status.explanation


def test_two_trials_of_one_drug_count_once() -> None:
    status = trd_status([a_trial("Drug A"), a_trial("drug a ")])
    assert status.met is False
    assert len(status.counting_trials) == 1


def test_unknown_adequate_dose_or_improvement_does_not_count() -> None:
    assert trial_is_adequate_failure(a_trial(adequate_dose_mg=None)) is False
    assert trial_is_adequate_failure(a_trial(improvement_percent=None)) is False


def test_trd_thresholds_are_parameters() -> None:
    trials = [a_trial("drug A", weeks_at_dose=6), a_trial("drug B", weeks_at_dose=6)]
    assert trd_status(trials).met is True
    assert trd_status(trials, min_weeks=8).met is False
    assert trd_status(trials, required_failures=3).met is False
    assert trial_is_adequate_failure(a_trial(improvement_percent=30), max_improvement_percent=35)


def test_trd_explanation_names_sources_and_uncounted_trials() -> None:
    status = trd_status([a_trial("drug A"), a_trial("drug B", adherence="poor")])
    assert "drug B (poor adherence)" in status.explanation
    assert "phase 3" in status.explanation


@pytest.mark.parametrize(
    "changes",
    [
        {"adherence": "excellent"},
        {"weeks_at_dose": -1},
        {"improvement_percent": 120},
        {"drug": " "},
    ],
)
def test_an_impossible_trial_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        a_trial(**changes)
