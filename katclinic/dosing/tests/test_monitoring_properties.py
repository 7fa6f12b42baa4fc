"""A reading alerts for a measure exactly when it is beyond one of that measure's limits
(a value on the limit never alerts), and the alert carries the most severe level passed."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from katclinic.dosing.monitoring import (
    DEFAULT_THRESHOLDS,
    Limit,
    Thresholds,
    VitalReading,
    evaluate_reading,
)

TAKEN = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
# The monitoring rules as the clinic reads them: (Thresholds field, measure, beyond means).
RULES = (
    ("systolic_recheck", "systolic", "above"),
    ("systolic_stop", "systolic", "above"),
    ("diastolic_recheck", "diastolic", "above"),
    ("diastolic_stop", "diastolic", "above"),
    ("heart_rate_max", "heart_rate", "above"),
    ("spo2_min", "spo2", "below"),
    ("respiratory_rate_min", "respiratory_rate", "below"),
    ("respiratory_rate_max", "respiratory_rate", "above"),
    ("moaas_min", "moaas", "below"),
)
MEASURES = sorted({measure for _, measure, _ in RULES})
SEVERITY = {"recheck": 1, "notify_prescriber": 2, "stop": 3}

limits = st.builds(
    Limit,
    st.integers(min_value=1, max_value=250),
    st.sampled_from(sorted(SEVERITY)),
    st.just("test"),
)
thresholds = st.builds(
    Thresholds,
    **{field: st.none() | limits for field, _, _ in RULES},
    recheck_after_minutes=st.integers(min_value=1, max_value=30),
)
value = st.none() | st.integers(min_value=0, max_value=260)
readings = st.builds(VitalReading, taken_at=st.just(TAKEN), **{m: value for m in MEASURES})


def beyond(reading_value: int, limit: Limit, direction: str) -> bool:
    difference = reading_value - limit.value
    return difference > 0 if direction == "above" else difference < 0


@given(readings, thresholds)
def test_a_measure_alerts_exactly_when_one_of_its_limits_is_passed(
    reading: VitalReading, limits_set: Thresholds
) -> None:
    alerts = {alert.measure: alert for alert in evaluate_reading(reading, limits_set)}
    assert len(alerts) == len(evaluate_reading(reading, limits_set))  # one per measure
    for measure in MEASURES:
        taken = getattr(reading, measure)
        passed = [
            limit
            for field, rule_measure, direction in RULES
            if rule_measure == measure
            and (limit := getattr(limits_set, field)) is not None
            and taken is not None
            and beyond(taken, limit, direction)
        ]
        assert (measure in alerts) == bool(passed), measure
        if passed:
            worst = max(SEVERITY[limit.level] for limit in passed)
            alert = alerts[measure]
            assert SEVERITY[alert.level] == worst
            assert alert.value == taken
            assert alert.limit in {
                limit.value for limit in passed if SEVERITY[limit.level] == worst
            }


@given(st.sampled_from(RULES), st.integers(min_value=1, max_value=20))
def test_on_the_default_limit_nothing_fires_and_one_step_beyond_it_does(
    rule: tuple[str, str, str], steps: int
) -> None:
    field, measure, direction = rule
    limit = getattr(DEFAULT_THRESHOLDS, field)
    assert limit is not None
    on_limit = VitalReading(taken_at=TAKEN, **{measure: limit.value})
    assert not any(
        a.measure == measure and a.limit == limit.value and a.level == limit.level
        for a in evaluate_reading(on_limit, DEFAULT_THRESHOLDS)
    )
    past = limit.value + steps if direction == "above" else limit.value - steps
    fired = [
        a
        for a in evaluate_reading(
            VitalReading(taken_at=TAKEN, **{measure: past}), DEFAULT_THRESHOLDS
        )
        if a.measure == measure
    ]
    assert len(fired) == 1
    assert SEVERITY[fired[0].level] >= SEVERITY[limit.level]
