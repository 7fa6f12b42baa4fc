"""Scoring of every shipped instrument against hand-computed answer sets."""

import json
from pathlib import Path
from typing import Any

import pytest

from katclinic.clinics.registry import REGISTRY
from katclinic.measures import clinic_settings
from katclinic.measures.scoring import (
    AnswerError,
    DefinitionError,
    InstrumentDefinition,
    InvalidAnswers,
    course_change,
    domain_scores,
    load_builtin_instruments,
    load_clinic_wording,
    load_definition,
    score,
    validate_answers,
    with_clinic_wording,
)

INSTRUMENTS = load_builtin_instruments()
PHQ9 = INSTRUMENTS["phq9"]
GAD7 = INSTRUMENTS["gad7"]
QIDS = INSTRUMENTS["qids_sr16"]
MADRS = INSTRUMENTS["madrs"]
CSSRS = INSTRUMENTS["cssrs_screener"]
CADSS6 = INSTRUMENTS["cadss6"]
MOAAS = INSTRUMENTS["moaas"]


def numbered(*values: int) -> dict[str, int | bool | None]:
    """Answers q1, q2, ... in order."""
    return {f"q{n}": value for n, value in enumerate(values, 1)}


def with_total(definition: InstrumentDefinition, total: int) -> dict[str, int | bool | None]:
    """Fill items in order with their top value until ``total`` is reached."""
    answers: dict[str, int | bool | None] = {}
    for item in (item for item in definition.items if item.scored):
        answers[item.link_id] = min(max(item.values), total)
        total -= answers[item.link_id]  # type: ignore[operator]
    assert total == 0
    return answers


def phq9_data() -> dict[str, Any]:
    return PHQ9.model_dump(mode="json", exclude_none=True)


# ------------------------------------------------------------------ registry


def test_it_ships_the_seven_instruments_and_the_surveillance_screens() -> None:
    assert sorted(INSTRUMENTS) == [
        "bladder_screen",
        "cadss6",
        "cognition_screen",
        "cssrs_screener",
        "gad7",
        "madrs",
        "misuse_screen",
        "moaas",
        "phq9",
        "qids_sr16",
    ]


def test_registry_is_parsed_once() -> None:
    assert load_builtin_instruments()["phq9"] is PHQ9


def test_ranges_match_the_clinical_reference() -> None:
    ranges = {key: definition.total_range for key, definition in INSTRUMENTS.items()}
    assert ranges == {
        "phq9": (0, 27),
        "gad7": (0, 21),
        "qids_sr16": (0, 27),
        "madrs": (0, 60),
        "cadss6": (0, 24),
        "moaas": (0, 5),
        "cssrs_screener": None,
        **dict.fromkeys(["bladder_screen", "misuse_screen", "cognition_screen"]),
    }


def test_licensed_wording_is_not_shipped() -> None:
    licensed = {key for key, d in INSTRUMENTS.items() if d.wording_licensed}
    # The surveillance screens are the clinic's own wording.
    assert licensed == {"phq9", "gad7", "bladder_screen", "misuse_screen", "cognition_screen"}
    assert QIDS.item("q1").text == "QIDS-SR16 item 1 (sleep onset)"


def test_phq9_codes_are_loinc() -> None:
    assert (PHQ9.code.code, PHQ9.total_code and PHQ9.total_code.code) == ("44249-1", "44261-6")
    q9_code = PHQ9.item("q9").code
    assert q9_code is not None and q9_code.code == "44260-8"
    codes = [option.code.code for option in PHQ9.item("q1").answer_options if option.code]
    assert codes == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


# ------------------------------------------------------------------ PHQ-9


def test_phq9_sums_nine_items_and_ignores_difficulty() -> None:
    result = score(PHQ9, numbered(1, 2, 0, 3, 1, 0, 2, 1, 0) | {"difficulty": 3})
    assert (result.total, result.band, result.complete) == (10, "moderate", True)
    assert result.subscales == {"phq2": 3}
    assert result.flags == ()
    assert (result.instrument, result.version) == ("phq9", "1.0.0")


def test_phq9_difficulty_item_is_optional() -> None:
    assert validate_answers(PHQ9, numbered(0, 0, 0, 0, 0, 0, 0, 0, 0)) == []


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    result = score(PHQ9, with_total(PHQ9, total))
    assert (result.total, result.band) == (total, band)


def test_phq9_item_9_above_zero_flags_suicidal_ideation() -> None:
    assert score(PHQ9, numbered(0, 0, 0, 0, 0, 0, 0, 0, 1)).flags == ("suicidal_ideation",)


def test_phq9_item_9_flag_is_raised_even_when_incomplete() -> None:
    result = score(PHQ9, {"q9": 2})
    assert result.total is None and result.band is None
    assert result.flags == ("suicidal_ideation",)
    assert result.missing == ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8")


def test_phq9_missing_item_gives_no_total() -> None:
    answers = numbered(3, 3, 3, 3, 3, 3, 3, 3, 3)
    answers["q4"] = None
    result = score(PHQ9, answers)
    assert (result.complete, result.total, result.missing) == (False, None, ("q4",))
    assert result.subscales == {"phq2": 6}


# ------------------------------------------------------------------ GAD-7


@pytest.mark.parametrize(
    ("total", "band", "flags"),
    [
        (4, "minimal", ()),
        (5, "mild", ()),
        (9, "mild", ()),
        (10, "moderate", ("further_evaluation",)),
        (14, "moderate", ("further_evaluation",)),
        (15, "severe", ("further_evaluation",)),
        (21, "severe", ("further_evaluation",)),
    ],
)
def test_gad7_band_edges_and_evaluation_flag(total: int, band: str, flags: tuple[str]) -> None:
    result = score(GAD7, with_total(GAD7, total))
    assert (result.total, result.band, result.flags) == (total, band, flags)


def test_gad7_hand_computed() -> None:
    assert score(GAD7, numbered(2, 1, 3, 0, 1, 2, 0)).total == 9


# ------------------------------------------------------------------ QIDS-SR16


def test_qids_counts_each_domain_once_at_its_highest_item() -> None:
    # sleep max(1,3,0,2)=3, mood 2, appetite/weight max(0,1,2,0)=2,
    # items 10-14 = 1+1+0+2+1 = 5, psychomotor max(0,2)=2 -> 14 (a plain sum gives 18)
    answers = numbered(1, 3, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2)
    result = score(QIDS, answers)
    assert (result.total, result.band) == (14, "moderate")


def test_qids_nine_domain_scores_on_a_known_answer_set() -> None:
    answers = numbered(1, 3, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2)
    domains = domain_scores(QIDS, answers)
    assert domains == {
        "sleep": 3,
        "sad_mood": 2,
        "appetite_weight": 2,
        "concentration": 1,
        "self_view": 1,
        "suicidal_ideation": 0,
        "interest": 2,
        "energy": 1,
        "psychomotor": 2,
    }
    assert sum(v for v in domains.values() if v is not None) == score(QIDS, answers).total == 14


def test_qids_domain_scores_skip_unanswered_items_and_report_empty_domains() -> None:
    answers = numbered(0, 0, 0, 0, 1, 3, None, None, 1, 0, 0, 0, 0, 0, 0, 0)  # type: ignore[arg-type]
    assert domain_scores(QIDS, answers)["appetite_weight"] == 3
    assert domain_scores(QIDS, {"q5": 2}) == {
        key: (2 if key == "sad_mood" else None) for key in domain_scores(QIDS, {})
    }


def test_instruments_without_domains_have_no_domain_scores() -> None:
    assert domain_scores(PHQ9, {f"q{n}": 1 for n in range(1, 10)}) == {}


def test_qids_item12_flag_uses_the_clinic_value_when_given() -> None:
    answers = numbered(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0)
    assert "suicidal_ideation_qids" in score(QIDS, answers).flags
    stricter = {"suicidal_ideation_qids": 2}
    assert "suicidal_ideation_qids" not in score(QIDS, answers, flag_values=stricter).flags
    answers["q12"] = 2
    assert "suicidal_ideation_qids" in score(QIDS, answers, flag_values=stricter).flags


def test_every_flag_setting_of_a_shipped_definition_is_a_clinic_setting() -> None:
    named = [f.setting for d in INSTRUMENTS.values() for f in d.flags if f.setting]
    assert named == [clinic_settings.QIDS_ITEM12_ALERT_AT.key]
    assert all(REGISTRY[key].default == 1 for key in named)


def test_qids_appetite_and_weight_items_may_be_skipped_in_part() -> None:
    answers = numbered(0, 0, 0, 0, 1, 3, None, None, 1, 0, 0, 0, 0, 0, 0, 0)  # type: ignore[arg-type]
    assert score(QIDS, answers).total == 4


def test_qids_needs_one_appetite_or_weight_answer() -> None:
    answers = numbered(0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for link in ("q6", "q7", "q8", "q9"):
        del answers[link]
    errors = validate_answers(QIDS, answers)
    assert [(e.link_id, e.kind) for e in errors] == [("q6", "missing")]
    assert "q6, q7, q8, q9" in errors[0].message
    assert score(QIDS, answers).total is None


@pytest.mark.parametrize(
    ("total", "band"),
    [(5, "none"), (6, "mild"), (10, "mild"), (11, "moderate"), (15, "moderate")]
    + [(16, "severe"), (20, "severe"), (21, "very severe"), (27, "very severe")],
)
def test_qids_band_edges(total: int, band: str) -> None:
    # one value per domain: q1 (sleep), q5, q6 (appetite/weight), q10-q14, q15 (psychomotor)
    per_domain = [min(3, max(0, total - 3 * n)) for n in range(9)]
    domain_items = ["q1", "q5", "q6", "q10", "q11", "q12", "q13", "q14", "q15"]
    answers: dict[str, int | bool | None] = {f"q{n}": 0 for n in range(1, 17)}
    answers |= dict(zip(domain_items, per_domain, strict=True))
    result = score(QIDS, answers)
    assert (result.total, result.band) == (total, band)


# ------------------------------------------------------------------ MADRS, CADSS-6, MOAA/S


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "normal"), (6, "normal"), (7, "mild"), (19, "mild"), (20, "moderate")]
    + [(34, "moderate"), (35, "severe"), (60, "severe")],
)
def test_madrs_band_edges(total: int, band: str) -> None:
    assert score(MADRS, with_total(MADRS, total)).band == band


def test_madrs_hand_computed() -> None:
    result = score(MADRS, numbered(2, 3, 1, 4, 0, 2, 3, 2, 1, 0))
    assert (result.total, result.band) == (18, "mild")


def test_madrs_rejects_seven() -> None:
    errors = validate_answers(MADRS, numbered(7, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    assert errors == [
        AnswerError("q1", "invalid_answer", "expects one of [0, 1, 2, 3, 4, 5, 6], got 7")
    ]


def test_cadss6_sums_items_1_2_6_7_15_22_without_bands() -> None:
    answers = {"q1": 0, "q2": 1, "q6": 2, "q7": 3, "q15": 4, "q22": 1}
    result = score(CADSS6, answers)
    assert (result.total, result.band) == (11, None)


def test_moaas_level_zero_flags_loss_of_consciousness() -> None:
    assert score(MOAAS, {"level": 0}).flags == ("loss_of_consciousness",)
    result = score(MOAAS, {"level": 5})
    assert (result.total, result.flags) == (5, ())


# ------------------------------------------------------------------ C-SSRS screener


@pytest.mark.parametrize(
    ("answers", "risk", "flags"),
    [
        ({"q1": False, "q2": False, "q6": False}, "none", ()),
        ({"q1": True, "q2": False, "q6": False}, "low", ()),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": False, "q6": False}, "low", ()),
        (
            {"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False},
            "moderate",
            (),
        ),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": False}, "moderate", ()),
        (
            {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False},
            "high",
            ("immediate_evaluation",),
        ),
        (
            {"q1": True, "q2": True, "q3": False, "q4": False, "q5": True, "q6": False},
            "high",
            ("immediate_evaluation",),
        ),
        (
            {"q1": False, "q2": False, "q6": True, "q6_recent": True},
            "high",
            ("immediate_evaluation",),
        ),
    ],
)
def test_cssrs_triage(answers: dict[str, bool], risk: str, flags: tuple[str]) -> None:
    result = score(CSSRS, answers)
    assert (result.complete, result.total, result.risk) == (True, None, risk)
    assert result.flags == flags


def test_cssrs_high_risk_is_known_before_the_form_is_complete() -> None:
    result = score(CSSRS, {"q1": True, "q2": True, "q4": True})
    assert (result.complete, result.risk) == (False, "high")
    assert result.missing == ("q3", "q5", "q6")


def test_cssrs_risk_is_unknown_while_a_higher_answer_is_missing() -> None:
    assert score(CSSRS, {"q1": True, "q2": False}).risk is None


def test_cssrs_rejects_items_3_to_5_after_a_no_to_item_2() -> None:
    errors = validate_answers(CSSRS, {"q1": True, "q2": False, "q3": True, "q6": False})
    assert errors == [
        AnswerError("q3", "disabled", "answered, but this question applies only when q2 = yes")
    ]
    with pytest.raises(InvalidAnswers) as caught:
        score(CSSRS, {"q1": True, "q2": False, "q3": True, "q6": False})
    assert [error.link_id for error in caught.value.errors] == ["q3"]


def test_an_invalid_controlling_answer_does_not_open_later_questions() -> None:
    # 1 == True in Python; a number must not count as a yes to item 2
    errors = validate_answers(CSSRS, {"q1": False, "q2": 1, "q3": True, "q6": False})
    assert [(e.link_id, e.kind) for e in errors] == [
        ("q2", "invalid_answer"),
        ("q3", "disabled"),
    ]


def test_cssrs_follow_up_is_required_after_past_behaviour() -> None:
    errors = validate_answers(CSSRS, {"q1": False, "q2": False, "q6": True})
    assert [(e.link_id, e.kind) for e in errors] == [("q6_recent", "missing")]


# ------------------------------------------------------------------ invalid answers


def test_invalid_answers_are_each_reported() -> None:
    answers = numbered(0, 4, 0, 0, 0, 0, 0, 0) | {"q1": True, "q99": 1}
    errors = validate_answers(PHQ9, answers)
    assert [(e.link_id, e.kind) for e in errors] == [
        ("q99", "unknown_item"),
        ("q1", "invalid_answer"),
        ("q2", "invalid_answer"),
        ("q9", "missing"),
    ]


def test_yes_no_item_refuses_a_number() -> None:
    errors = validate_answers(CSSRS, {"q1": 1, "q2": False, "q6": False})
    assert errors == [AnswerError("q1", "invalid_answer", "expects yes or no (true/false), got 1")]


def test_score_refuses_invalid_answers_instead_of_guessing() -> None:
    with pytest.raises(InvalidAnswers, match="q2: expects one of"):
        score(PHQ9, numbered(0, 4, 0, 0, 0, 0, 0, 0, 0))


# ------------------------------------------------------------------ course of treatment


def test_phq9_halved_is_a_response_but_not_remission() -> None:
    change = course_change(PHQ9, 20, 10)
    assert (change.change, change.percent_change) == (-10, -50.0)
    assert change.response is not None and change.response.met
    assert change.response.threshold == 50 and change.response.instrument == "phq9"
    assert change.remission is not None and not change.remission.met
    assert change.remission.rule == "remission: total < 5"
    assert change.mcid is not None and change.mcid.met and change.mcid.threshold == 5
    assert "2004" in change.mcid.source


def test_phq9_response_needs_a_full_half() -> None:
    change = course_change(PHQ9, 20, 11)
    assert change.response is not None and not change.response.met


@pytest.mark.parametrize(
    ("instrument", "latest", "remitted"),
    [(PHQ9, 4, True), (PHQ9, 5, False), (QIDS, 5, True), (QIDS, 6, False)]
    + [(MADRS, 12, True), (MADRS, 13, False)],
)
def test_remission_thresholds(
    instrument: InstrumentDefinition, latest: int, remitted: bool
) -> None:
    change = course_change(instrument, 25, latest)
    assert change.remission is not None and change.remission.met is remitted


def test_mcid_needs_five_phq9_points() -> None:
    assert not course_change(PHQ9, 12, 8).mcid.met  # type: ignore[union-attr]
    assert course_change(PHQ9, 12, 7).mcid.met  # type: ignore[union-attr]


def test_zero_baseline_has_no_percent_and_no_response() -> None:
    change = course_change(PHQ9, 0, 0)
    assert change.percent_change is None
    assert change.response is not None and not change.response.met


def test_criteria_are_absent_where_the_instrument_defines_none() -> None:
    change = course_change(CADSS6, 12, 2)
    assert (change.response, change.remission, change.mcid) == (None, None, None)


def test_course_change_refuses_impossible_totals() -> None:
    with pytest.raises(ValueError, match="latest_total 28 is outside 0-27"):
        course_change(PHQ9, 20, 28)
    with pytest.raises(ValueError, match="no total"):
        course_change(CSSRS, 1, 0)


# ------------------------------------------------------------------ clinic wording


def test_clinic_wording_overlay_replaces_text_only(tmp_path: Path) -> None:
    path = tmp_path / "qids.json"
    path.write_text(json.dumps({"q1": "Clinic text for item one"}), encoding="utf-8")
    worded = load_clinic_wording(QIDS, path)
    assert worded.item("q1").text == "Clinic text for item one"
    assert worded.item("q2").text == QIDS.item("q2").text
    assert worded.wording_licensed and not QIDS.wording_licensed
    assert worded.scoring == QIDS.scoring and worded.bands == QIDS.bands


def test_clinic_wording_refuses_unknown_items() -> None:
    with pytest.raises(DefinitionError, match=r"unknown items \['q17'\]"):
        with_clinic_wording(QIDS, {"q17": "text"})


def test_clinic_wording_file_must_map_ids_to_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"q1": 3}), encoding="utf-8")
    with pytest.raises(DefinitionError, match="expected"):
        load_clinic_wording(QIDS, path)


# ------------------------------------------------------------------ malformed definitions


def test_a_missing_field_is_named() -> None:
    data = phq9_data()
    del data["title"]
    with pytest.raises(DefinitionError, match=r"phq9: title: Field required"):
        load_definition(data)


def test_a_misspelt_field_is_refused() -> None:
    data = phq9_data() | {"severity": {}}
    with pytest.raises(DefinitionError, match="severity: Extra inputs"):
        load_definition(data)


def test_a_gap_between_bands_is_refused() -> None:
    data = phq9_data()
    data["bands"]["ranges"][1]["min"] = 6
    with pytest.raises(DefinitionError, match=r"bands\.ranges\[1\]\.min: expected 5"):
        load_definition(data)


def test_bands_must_reach_the_maximum_total() -> None:
    data = phq9_data()
    data["bands"]["ranges"][-1]["max"] = 26
    with pytest.raises(DefinitionError, match="maximum total 27"):
        load_definition(data)


def test_duplicate_link_ids_are_refused() -> None:
    data = phq9_data()
    data["items"][1]["link_id"] = "q1"
    with pytest.raises(DefinitionError, match=r"items\[1\]\.link_id: duplicate"):
        load_definition(data)


def test_an_option_value_must_be_an_integer() -> None:
    data = phq9_data()
    data["items"][0]["answer_options"][1]["value"] = "1"
    with pytest.raises(DefinitionError, match=r"items\[0\]\.answer_options\[1\]\.value"):
        load_definition(data)


def test_enable_when_must_point_to_an_earlier_item() -> None:
    data = phq9_data()
    data["items"][0]["enable_when"] = {"item": "q9", "operator": "=", "value": 1}
    with pytest.raises(DefinitionError, match=r"items\[0\]\.enable_when\.item"):
        load_definition(data)


def test_flags_must_name_a_real_item() -> None:
    data = phq9_data()
    data["flags"][0]["item"] = "q10"
    with pytest.raises(DefinitionError, match=r"flags\[0\]\.item: unknown item 'q10'"):
        load_definition(data)


def test_domains_must_cover_every_scored_item() -> None:
    data = QIDS.model_dump(mode="json", exclude_none=True)
    data["scoring"]["domains"] = data["scoring"]["domains"][:-1]
    with pytest.raises(DefinitionError, match="scoring.domains: every scored item"):
        load_definition(data)


def test_an_instrument_without_total_cannot_have_bands() -> None:
    data = CSSRS.model_dump(mode="json", exclude_none=True) | {"bands": phq9_data()["bands"]}
    with pytest.raises(DefinitionError, match="cannot have bands"):
        load_definition(data)
