"""Properties that hold for any valid answer set of any shipped instrument."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from katclinic.measures.scoring import (
    InstrumentDefinition,
    InvalidAnswers,
    assess,
    course_change,
    load_builtin_instruments,
    score,
    validate_answers,
)

INSTRUMENTS = load_builtin_instruments()
WITH_TOTAL = sorted(key for key, d in INSTRUMENTS.items() if d.total_range is not None)
# No example database: keeps the shared working tree free of a .hypothesis folder.
quick = settings(database=None, deadline=None, max_examples=150)

Answers = dict[str, int | bool | None]


def complete_answers(data: st.DataObject, definition: InstrumentDefinition) -> Answers:
    """Draw a valid, complete answer set, walking items in order as a form would."""
    answers: Answers = {}
    for item in definition.items:
        condition = item.enable_when
        if condition is not None and answers.get(condition.item) != condition.value:
            continue
        if not item.required and data.draw(st.booleans(), label=f"skip {item.link_id}"):
            continue
        if item.type == "boolean":
            answers[item.link_id] = data.draw(st.booleans(), label=item.link_id)
        else:
            answers[item.link_id] = data.draw(st.sampled_from(item.values), label=item.link_id)
    return answers


def qids_answers(data: st.DataObject) -> Answers:
    """Complete QIDS answers, with at least one appetite/weight item answered."""
    answers = complete_answers(data, INSTRUMENTS["qids_sr16"])
    if not any(f"q{n}" in answers for n in (6, 7, 8, 9)):
        answers["q6"] = data.draw(st.integers(0, 3), label="q6")
    return answers


def valid_answers(data: st.DataObject, key: str) -> Answers:
    if key == "qids_sr16":
        return qids_answers(data)
    return complete_answers(data, INSTRUMENTS[key])


@pytest.mark.parametrize("key", WITH_TOTAL)
@quick
@given(data=st.data())
def test_any_complete_answer_set_scores_in_range_and_band(key: str, data: st.DataObject) -> None:
    definition = INSTRUMENTS[key]
    answers = valid_answers(data, key)
    assert validate_answers(definition, answers) == []
    result = score(definition, answers)
    low, high = definition.total_range or (0, 0)
    assert result.complete and result.total is not None
    assert low <= result.total <= high
    if definition.bands is not None:
        (band,) = [b for b in definition.bands.ranges if b.min <= result.total <= b.max]
        assert result.band == band.label


@pytest.mark.parametrize("key", ["phq9", "gad7", "madrs", "cadss6"])
@quick
@given(data=st.data())
def test_sum_instruments_total_the_scored_items(key: str, data: st.DataObject) -> None:
    definition = INSTRUMENTS[key]
    answers = valid_answers(data, key)
    scored = [item.link_id for item in definition.items if item.scored]
    assert score(definition, answers).total == sum(int(answers[link] or 0) for link in scored)


@quick
@given(data=st.data())
def test_qids_total_is_the_sum_of_domain_maxima(data: st.DataObject) -> None:
    answers = qids_answers(data)

    def top(*numbers: int) -> int:
        return max(int(answers[f"q{n}"] or 0) for n in numbers if f"q{n}" in answers)

    expected = (
        top(1, 2, 3, 4)
        + top(5)
        + top(6, 7, 8, 9)
        + sum(top(n) for n in (10, 11, 12, 13, 14))
        + top(15, 16)
    )
    assert score(INSTRUMENTS["qids_sr16"], answers).total == expected


@pytest.mark.parametrize("key", WITH_TOTAL)
@quick
@given(data=st.data())
def test_dropping_a_required_answer_removes_the_total(key: str, data: st.DataObject) -> None:
    definition = INSTRUMENTS[key]
    answers = valid_answers(data, key)
    required = [item.link_id for item in definition.items if item.required]
    dropped = data.draw(st.sampled_from(required), label="dropped")
    answers[dropped] = None
    result = score(definition, answers)
    assert (result.complete, result.total, result.band) == (False, None, None)
    assert dropped in result.missing


@quick
@given(data=st.data())
def test_phq9_flags_exactly_when_item_9_is_above_zero(data: st.DataObject) -> None:
    answers = complete_answers(data, INSTRUMENTS["phq9"])
    flagged = "suicidal_ideation" in score(INSTRUMENTS["phq9"], answers).flags
    assert flagged is (int(answers["q9"] or 0) > 0)


@quick
@given(data=st.data())
def test_cssrs_always_triages_a_complete_form(data: st.DataObject) -> None:
    answers = complete_answers(data, INSTRUMENTS["cssrs_screener"])
    result = score(INSTRUMENTS["cssrs_screener"], answers)
    assert result.total is None
    assert result.risk in {"none", "low", "moderate", "high"}
    high = any(answers.get(link) is True for link in ("q4", "q5", "q6_recent"))
    assert (result.risk == "high") is high


@quick
@given(baseline=st.integers(0, 27), latest=st.integers(0, 27))
def test_phq9_response_means_at_least_half_gone(baseline: int, latest: int) -> None:
    change = course_change(INSTRUMENTS["phq9"], baseline, latest)
    assert change.change == latest - baseline
    assert change.response is not None and change.remission is not None
    assert change.response.met is (baseline > 0 and 2 * latest <= baseline)
    assert change.remission.met is (latest < 5)


# Any answer set at all: unknown items, values outside the options, wrong types, gaps.
any_answers = st.dictionaries(
    st.sampled_from(["q1", "q2", "q3", "q9", "q10", "q16", "nope"]),
    st.none() | st.booleans() | st.integers(-1, 5),
    max_size=12,
)


@pytest.mark.parametrize("key", sorted(INSTRUMENTS))
@quick
@given(answers=any_answers, data=st.data())
def test_assess_is_validate_answers_and_score_in_one_pass(
    key: str, answers: Answers, data: st.DataObject
) -> None:
    """Submission checks the answers once (``assess``): it must find exactly the problems
    ``validate_answers`` finds and give exactly ``score``'s result, or none where it refuses."""
    definition = INSTRUMENTS[key]
    if data.draw(st.booleans(), label="from a valid set"):
        answers = valid_answers(data, key) | answers
    flag_values = {rule.code: rule.value + 1 for rule in definition.flags}
    errors, result = assess(definition, answers, flag_values=flag_values)
    assert errors == validate_answers(definition, answers)
    try:
        expected = score(definition, answers, flag_values=flag_values)
    except InvalidAnswers:
        assert result is None
    else:
        assert result == expected
