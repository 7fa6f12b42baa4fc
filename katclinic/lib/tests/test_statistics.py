import math
import statistics
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katclinic.lib.statistics import (
    kaplan_meier,
    kaplan_meier_counted,
    median_of_counts,
    median_survival,
    percent_change,
    proportion,
    wilson_interval,
)

# Newcombe RG, Stat Med 1998;17:857-872, worked examples for method 3 (Wilson score
# interval without continuity correction), rounded to four places there.
NEWCOMBE_WILSON_EXAMPLES = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0),
]


@pytest.mark.parametrize(("successes", "n", "lower", "upper"), NEWCOMBE_WILSON_EXAMPLES)
def test_wilson_matches_newcombe_worked_examples(
    successes: int, n: int, lower: float, upper: float
) -> None:
    interval = wilson_interval(successes, n)

    assert interval.estimate == pytest.approx(successes / n)
    assert round(interval.lower, 4) == lower
    assert round(interval.upper, 4) == upper


def test_wilson_zero_of_ten_has_exact_zero_lower_bound_and_z_squared_upper() -> None:
    z2 = 1.959963984540054**2
    interval = wilson_interval(0, 10)

    assert interval.lower == 0.0
    assert interval.upper == pytest.approx(z2 / (10 + z2))  # 0.2775
    assert round(interval.upper, 4) == 0.2775


def test_wilson_ten_of_ten_mirrors_zero_of_ten() -> None:
    interval = wilson_interval(10, 10)

    assert interval.upper == 1.0
    assert round(interval.lower, 4) == 0.7225


def test_wilson_is_wider_at_higher_confidence() -> None:
    at_95 = wilson_interval(20, 50)
    at_99 = wilson_interval(20, 50, confidence=0.99)

    assert at_99.lower < at_95.lower
    assert at_99.upper > at_95.upper


def test_wilson_with_no_observations_reports_no_estimate_and_full_range() -> None:
    interval = wilson_interval(0, 0)

    assert interval.estimate is None
    assert (interval.lower, interval.upper) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "n"), [(-1, 10), (11, 10), (0, -1)])
def test_wilson_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="must"):
        wilson_interval(successes, n)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_wilson_refuses_confidence_outside_zero_one(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(5, 10, confidence=confidence)


@given(
    st.integers(min_value=1, max_value=5000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    st.floats(min_value=0.5, max_value=0.999),
)
def test_wilson_interval_contains_the_estimate_and_stays_in_unit_range(
    counts: tuple[int, int], confidence: float
) -> None:
    successes, n = counts
    interval = wilson_interval(successes, n, confidence)

    assert interval.estimate is not None
    assert 0.0 <= interval.lower <= interval.estimate <= interval.upper <= 1.0
    assert interval.lower < interval.upper


def test_proportion_is_none_without_a_denominator() -> None:
    assert proportion(0, 0) is None
    assert proportion(3, 4) == 0.75
    with pytest.raises(ValueError, match="successes"):
        proportion(5, 4)


def test_percent_change_is_negative_for_a_fall_and_none_from_zero() -> None:
    assert percent_change(20, 8) == pytest.approx(-60.0)
    assert percent_change(10, 15) == pytest.approx(50.0)
    assert percent_change(0, 5) is None


# Hand-worked example: eight patients, times in weeks to relapse.
#   t=1 relapse; t=2 relapse and censored; t=3 censored; t=4 two relapses;
#   t=5 censored; t=6 relapse.
# S(1)=7/8=0.875; S(2)=0.875*6/7=0.75 (the subject censored at 2 still counts
# at risk, so n=7 not 6); S(4)=0.75*2/4=0.375; S(6)=0.
KM_DURATIONS = [4, 1, 2, 6, 2, 3, 4, 5]
KM_EVENTS = [True, True, True, True, False, False, True, False]


def test_kaplan_meier_matches_hand_computed_table() -> None:
    steps = kaplan_meier(KM_DURATIONS, KM_EVENTS)

    table = [(s.time, s.at_risk, s.events, s.censored, s.survival) for s in steps]
    assert table == [
        (1.0, 8, 1, 0, pytest.approx(0.875)),
        (2.0, 7, 1, 1, pytest.approx(0.75)),
        (3.0, 5, 0, 1, pytest.approx(0.75)),
        (4.0, 4, 2, 0, pytest.approx(0.375)),
        (5.0, 2, 0, 1, pytest.approx(0.375)),
        (6.0, 1, 1, 0, 0.0),
    ]


def test_kaplan_meier_counts_censored_at_a_tied_time_as_at_risk_for_its_events() -> None:
    # Censoring first would give n=6 at t=2 and S=0.875*5/6=0.729.
    step = kaplan_meier(KM_DURATIONS, KM_EVENTS)[1]

    assert step.at_risk == 7
    assert step.survival == pytest.approx(0.75)


def test_kaplan_meier_greenwood_log_log_bounds_match_hand_computation() -> None:
    # At t=4: Greenwood sum = 1/(8*7) + 1/(7*6) + 2/(4*2) = 0.291667;
    # se = sqrt(0.291667)/|ln 0.375| = 0.55062; bounds 0.375**exp(±1.96*se).
    steps = kaplan_meier(KM_DURATIONS, KM_EVENTS)
    at_four = steps[3]

    assert at_four.lower == pytest.approx(0.05581, abs=1e-4)
    assert at_four.upper == pytest.approx(0.71652, abs=1e-4)
    assert steps[0].lower == pytest.approx(0.38700, abs=1e-4)
    assert steps[0].upper == pytest.approx(0.98139, abs=1e-4)


def test_kaplan_meier_bounds_are_undefined_at_zero_and_before_any_event() -> None:
    steps = kaplan_meier([1, 2], [False, True])

    assert steps[0].survival == 1.0
    assert (steps[0].lower, steps[0].upper) == (None, None)
    assert steps[-1].survival == 0.0
    assert (steps[-1].lower, steps[-1].upper) == (None, None)


def test_kaplan_meier_refuses_mismatched_or_negative_input() -> None:
    with pytest.raises(ValueError, match="length"):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([-1], [True])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([math.nan], [True])


def test_median_survival_is_first_time_at_or_below_half() -> None:
    assert median_survival(kaplan_meier(KM_DURATIONS, KM_EVENTS)) == 4.0
    assert median_survival(kaplan_meier([1, 2, 3, 4], [True, True, False, False])) == 2.0


def test_median_survival_is_none_when_not_reached() -> None:
    assert median_survival(kaplan_meier([1, 2, 3], [True, False, False])) is None
    assert median_survival([]) is None


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=60), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_kaplan_meier_survival_never_rises_and_accounts_for_everyone(
    subjects: list[tuple[int, bool]],
) -> None:
    durations = [duration for duration, _ in subjects]
    events = [event for _, event in subjects]

    steps = kaplan_meier(durations, events)

    survivals = [step.survival for step in steps]
    assert all(0.0 <= s <= 1.0 for s in survivals)
    assert all(later <= earlier for earlier, later in pairwise(survivals))
    assert steps[0].at_risk == len(subjects)
    assert sum(step.events + step.censored for step in steps) == len(subjects)
    for step in steps:
        if step.lower is not None and step.upper is not None:
            assert 0.0 <= step.lower <= step.survival <= step.upper <= 1.0


# (time, events, subjects) groups, as a grouped query gives them: one per distinct time.
GROUPS = st.dictionaries(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=1, max_value=30).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    max_size=40,
)


@given(GROUPS)
def test_kaplan_meier_from_counts_is_kaplan_meier_of_the_subjects_one_by_one(
    groups: dict[int, tuple[int, int]],
) -> None:
    durations: list[float] = []
    events: list[bool] = []
    for day, (died, total) in groups.items():
        durations += [float(day)] * total
        events += [True] * died + [False] * (total - died)
    counted = kaplan_meier_counted((day, d, n) for day, (d, n) in groups.items())
    assert counted == (kaplan_meier(durations, events) if durations else [])


def test_kaplan_meier_from_counts_matches_the_hand_computed_table() -> None:
    groups = [(1, 1, 1), (2, 1, 2), (3, 0, 1), (4, 2, 2), (5, 0, 1), (6, 1, 1)]
    assert kaplan_meier_counted(groups) == kaplan_meier(KM_DURATIONS, KM_EVENTS)


def test_kaplan_meier_from_counts_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        kaplan_meier_counted([(3, 4, 2)])
    with pytest.raises(ValueError):
        kaplan_meier_counted([(-1, 0, 2)])


@given(st.dictionaries(st.integers(min_value=0, max_value=60), st.integers(0, 20), max_size=30))
def test_the_median_of_counts_is_the_median_of_the_values_listed(counts: dict[int, int]) -> None:
    values = [v for v, c in counts.items() for _ in range(c)]
    found = median_of_counts(counts)
    if not values:
        assert found is None
    else:
        expected = statistics.median(values)
        assert found == expected
        assert type(found) is type(expected)
