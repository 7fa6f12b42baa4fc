"""Cumulative exposure over dose events: pure functions, no database."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from katclinic.surveillance.exposure import (
    ROLLING_12_MONTHS,
    ROLLING_30_DAYS,
    DoseEvent,
    crossings,
    daily_rolling,
    exposure,
    in_course,
    rolling,
    rolling_series,
    total,
)
from katclinic.surveillance.review import course_bounds

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def dose(at: datetime, mg: str, route: str = "iv", n: int = 1) -> DoseEvent:
    return DoseEvent(
        at=at,
        mg=Decimal(mg),
        route=route,
        setting="clinic",
        source_type="dosing.Administration",
        source_id=n,
    )


def test_total_sums_by_route() -> None:
    result = total([dose(NOW, "35"), dose(NOW, "300", "sublingual", 2), dose(NOW, "40", n=3)])
    assert result.mg == Decimal("375")
    assert result.by_route == {"iv": Decimal("75"), "sublingual": Decimal("300")}
    assert result.doses == 3


def test_a_dose_exactly_30_days_before_has_left_the_window() -> None:
    events = [dose(NOW - timedelta(days=30), "100", n=1), dose(NOW, "35", n=2)]
    assert rolling(events, at=NOW, length=ROLLING_30_DAYS).mg == Decimal("35")


def test_a_dose_just_inside_30_days_counts() -> None:
    events = [dose(NOW - timedelta(days=30) + timedelta(seconds=1), "100")]
    assert rolling(events, at=NOW, length=ROLLING_30_DAYS).mg == Decimal("100")


def test_a_dose_at_the_end_of_the_window_counts_and_a_later_one_does_not() -> None:
    events = [dose(NOW, "35", n=1), dose(NOW + timedelta(seconds=1), "50", n=2)]
    assert rolling(events, at=NOW, length=ROLLING_30_DAYS).mg == Decimal("35")


def test_twelve_months_is_365_days_with_the_same_edges() -> None:
    events = [
        dose(NOW - timedelta(days=365), "500", n=1),
        dose(NOW - timedelta(days=364), "200", n=2),
        dose(NOW - timedelta(days=31), "100", n=3),
    ]
    assert rolling(events, at=NOW, length=ROLLING_12_MONTHS).mg == Decimal("300")
    assert rolling(events, at=NOW, length=ROLLING_30_DAYS).mg == Decimal("0")


def test_course_includes_its_start_and_excludes_its_end() -> None:
    start, end = NOW - timedelta(days=10), NOW
    events = [
        dose(start - timedelta(seconds=1), "1", n=1),
        dose(start, "10", n=2),
        dose(end - timedelta(seconds=1), "20", n=3),
        dose(end, "40", n=4),
    ]
    assert in_course(events, start=start, end=end).mg == Decimal("30")
    assert in_course(events, start=start, end=None).mg == Decimal("70")


def test_course_bounds_are_local_midnights_and_include_the_last_day() -> None:
    zone = ZoneInfo("America/New_York")
    start, end = course_bounds(date(2026, 3, 2), date(2026, 3, 4), zone)
    assert start == datetime(2026, 3, 2, 0, 0, tzinfo=zone)
    assert end == datetime(2026, 3, 5, 0, 0, tzinfo=zone)
    assert course_bounds(date(2026, 3, 2), None, zone)[1] is None


def test_exposure_ignores_doses_after_the_moment_asked() -> None:
    events = [
        dose(NOW - timedelta(days=40), "100", n=1),
        dose(NOW - timedelta(days=2), "50", "im", 2),
        dose(NOW + timedelta(days=1), "999", n=3),
    ]
    result = exposure(events, at=NOW, course_start=NOW - timedelta(days=60))
    assert result.course is not None and result.course.mg == Decimal("150")
    assert result.last_30_days.mg == Decimal("50")
    assert result.last_30_days.by_route == {"im": Decimal("50")}
    assert result.last_12_months.mg == Decimal("150")
    assert exposure(events, at=NOW).course is None


def test_crossing_is_the_dose_that_takes_the_total_above_the_threshold() -> None:
    events = [dose(NOW + timedelta(days=day), "100", n=day) for day in (0, 5, 10, 15)]
    crossed = crossings(events, length=ROLLING_30_DAYS, threshold=Decimal("250"))
    assert [e.source_id for e in crossed] == [10]


def test_reaching_the_threshold_exactly_is_not_a_crossing() -> None:
    events = [dose(NOW + timedelta(days=day), "100", n=day) for day in (0, 5)]
    assert crossings(events, length=ROLLING_30_DAYS, threshold=Decimal("200")) == []


def test_falling_back_below_and_rising_again_is_a_second_crossing() -> None:
    days = (0, 1, 40, 41)
    events = [dose(NOW + timedelta(days=day), "100", n=day) for day in days]
    crossed = crossings(events, length=ROLLING_30_DAYS, threshold=Decimal("150"))
    assert [e.source_id for e in crossed] == [1, 41]


def test_doses_at_the_same_moment_cross_together() -> None:
    events = [
        dose(NOW, "28", "intranasal", 1),
        dose(NOW, "28", "intranasal", 2),
        dose(NOW, "28", "intranasal", 3),
    ]
    crossed = crossings(events, length=ROLLING_30_DAYS, threshold=Decimal("60"))
    assert [e.source_id for e in crossed] == [3]


def test_a_dose_leaving_the_window_on_the_day_of_a_new_one_is_not_counted() -> None:
    events = [dose(NOW, "100", n=1), dose(NOW + timedelta(days=30), "100", n=2)]
    assert crossings(events, length=ROLLING_30_DAYS, threshold=Decimal("150")) == []
    assert rolling_series(events, length=ROLLING_30_DAYS) == [
        (NOW, Decimal("100")),
        (NOW + timedelta(days=30), Decimal("100")),
    ]


def test_daily_rolling_gives_one_total_per_day_ending_now() -> None:
    events = [dose(NOW - timedelta(days=1), "35")]
    series = daily_rolling(events, end=NOW, days=2, length=ROLLING_30_DAYS)
    assert series == [
        (NOW - timedelta(days=2), Decimal(0)),
        (NOW - timedelta(days=1), Decimal(35)),
        (NOW, Decimal(35)),
    ]
