from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from katclinic.protocols.scheduling import (
    ClinicHours,
    ProposedAppointment,
    ScheduleError,
    SessionLengths,
    propose_schedule,
)
from katclinic.protocols.schema import load_library

LIBRARY = load_library()
IV = LIBRARY["iv_ketamine_elektd"]
ESKETAMINE = LIBRARY["esketamine_trd"]
SUBLINGUAL = LIBRARY["sublingual_titration"]
LONDON = ZoneInfo("Europe/London")
WEEKDAYS: ClinicHours = {day: (time(9), time(17)) for day in range(5)}
LENGTHS = SessionLengths(preparation=60, dosing=180, integration=60)
MONDAY = date(2026, 3, 2)


def of_kind(items: list[ProposedAppointment], kind: str) -> list[ProposedAppointment]:
    return [item for item in items if item.kind == kind]


def iv_schedule(**overrides: object) -> list[ProposedAppointment]:
    options: dict[str, object] = {
        "start": MONDAY,
        "first_phase": "induction",
        "clinic_hours": WEEKDAYS,
        "tz": LONDON,
        "session_minutes": LENGTHS,
    }
    options.update(overrides)
    return propose_schedule(IV, **options)  # type: ignore[arg-type]


def test_it_proposes_the_six_elektd_infusions() -> None:
    doses = of_kind(iv_schedule(), "dosing")

    assert len(doses) == 6
    assert {d.phase for d in doses} == {"induction"}
    assert [d.number for d in doses] == [1, 2, 3, 4, 5, 6]


def test_preparation_comes_on_an_earlier_day_than_the_first_dose() -> None:
    items = iv_schedule()
    preparation = of_kind(items, "preparation")
    first_dose = of_kind(items, "dosing")[0]

    assert len(preparation) == 1
    assert preparation[0].start.date() < first_dose.start.date()


def test_sublingual_has_three_preparation_days_before_dosing() -> None:
    items = propose_schedule(
        SUBLINGUAL,
        start=MONDAY,
        first_phase="induction",
        clinic_hours=WEEKDAYS,
        tz=LONDON,
        session_minutes=LENGTHS,
    )
    preparation = of_kind(items, "preparation")
    first_dose = of_kind(items, "dosing")[0]

    assert len({p.start.date() for p in preparation}) == 3
    assert max(p.start for p in preparation) < first_dose.start


def test_doses_respect_the_minimum_interval() -> None:
    starts = [d.start for d in of_kind(iv_schedule(), "dosing")]

    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= timedelta(hours=IV.spacing.min_interval_hours.value)


def closed_on(*days: date) -> Callable[[datetime, datetime], bool]:
    def unavailable(start: datetime, end: datetime) -> bool:
        return start.date() in days

    return unavailable


# With the first week closed after the preparation session, the first three doses would
# otherwise bunch into Monday, Wednesday and Friday of the next week.
FIRST_WEEK_CLOSED = closed_on(*(MONDAY + timedelta(days=n) for n in range(1, 5)))


def test_doses_pushed_together_still_keep_the_minimum_interval() -> None:
    starts = [d.start for d in of_kind(iv_schedule(busy=FIRST_WEEK_CLOSED), "dosing")]

    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= timedelta(hours=IV.spacing.min_interval_hours.value)


def test_no_seven_days_hold_more_than_the_weekly_cap() -> None:
    doses = of_kind(iv_schedule(busy=FIRST_WEEK_CLOSED), "dosing")
    cap = IV.spacing.max_doses_per_week.value

    assert len(doses) == 6
    for dose in doses:
        week_end = dose.start.date() + timedelta(days=7)
        window = [d for d in doses if dose.start.date() <= d.start.date() < week_end]
        assert len(window) <= cap


def test_twice_weekly_doses_are_spread_through_the_week() -> None:
    days = [d.start.date() for d in of_kind(iv_schedule(), "dosing")]

    assert [(b - a).days for a, b in zip(days, days[1:], strict=False)] == [3, 4, 3, 4, 3]


def test_sessions_fall_on_clinic_days_inside_opening_hours() -> None:
    for item in iv_schedule():
        opening, closing = WEEKDAYS[item.start.weekday()]
        assert opening <= item.start.time()
        assert item.end.time() <= closing


def test_a_three_day_clinic_schedules_only_on_its_days() -> None:
    monday_wednesday_friday: ClinicHours = {day: (time(8), time(18)) for day in (0, 2, 4)}

    items = iv_schedule(clinic_hours=monday_wednesday_friday)

    assert {item.start.weekday() for item in items} <= {0, 2, 4}
    assert len(of_kind(items, "dosing")) == 6


def test_each_dose_has_an_integration_inside_the_window() -> None:
    items = iv_schedule()
    doses = of_kind(items, "dosing")
    integrations = of_kind(items, "integration")
    low = timedelta(hours=IV.support.integration_window_min_hours)
    high = timedelta(hours=IV.support.integration_window_max_hours)

    assert len(integrations) == len(doses)
    for dose, integration in zip(doses, integrations, strict=True):
        assert low <= integration.start - dose.start <= high


def test_a_busy_slot_set_is_avoided() -> None:
    first = of_kind(iv_schedule(), "dosing")[0]
    blocked = {(first.start.date(), first.start.time())}

    moved = of_kind(iv_schedule(busy=blocked), "dosing")[0]

    assert moved.start != first.start


def test_a_busy_slot_inside_a_long_session_blocks_it() -> None:
    first = of_kind(iv_schedule(), "dosing")[0]
    inside = first.start + timedelta(hours=2)

    moved = of_kind(iv_schedule(busy={(inside.date(), inside.time())}), "dosing")[0]

    assert moved.end <= inside or moved.start > inside


def test_a_busy_callable_can_close_a_whole_day() -> None:
    closed = date(2026, 3, 3)

    def unavailable(start: datetime, end: datetime) -> bool:
        return start.date() == closed

    items = iv_schedule(busy=unavailable)

    assert all(item.start.date() != closed for item in items)
    assert "moved from 2026-03-03" in of_kind(items, "dosing")[0].reason


def test_appointments_never_overlap() -> None:
    items = iv_schedule()

    for earlier, later in zip(items, items[1:], strict=False):
        assert earlier.end <= later.start


def test_every_time_is_aware_and_in_the_clinic_zone() -> None:
    for item in iv_schedule():
        assert item.start.tzinfo is LONDON
        assert item.end.tzinfo is LONDON


def test_it_is_deterministic() -> None:
    assert iv_schedule() == iv_schedule()


def test_the_interval_counts_real_hours_across_a_clock_change() -> None:
    # Clocks in London go forward on 29 March 2026, so 48 wall-clock hours from Saturday
    # 14:00 end at Monday 14:00 after only 47 real hours. The first dose is pushed to
    # Saturday 14:00; the second is due Monday but must wait until 15:00, too late for a
    # 3-hour session, so it moves to Tuesday.
    every_day: ClinicHours = {day: (time(9), time(17)) for day in range(7)}

    def unavailable(start: datetime, end: datetime) -> bool:
        saturday_morning = start.date() == date(2026, 3, 28) and start.hour < 14
        return start.date() == date(2026, 3, 27) or saturday_morning

    doses = of_kind(
        iv_schedule(start=date(2026, 3, 26), clinic_hours=every_day, busy=unavailable), "dosing"
    )

    assert doses[0].start == datetime(2026, 3, 28, 14, 0, tzinfo=LONDON)
    assert doses[1].start == datetime(2026, 3, 31, 9, 0, tzinfo=LONDON)
    for earlier, later in zip(doses, doses[1:], strict=False):
        real = later.start.astimezone(UTC) - earlier.start.astimezone(UTC)
        assert real >= timedelta(hours=48)


def test_sublingual_doses_are_at_least_three_days_apart() -> None:
    doses = of_kind(
        propose_schedule(
            SUBLINGUAL,
            start=MONDAY,
            first_phase="induction",
            clinic_hours=WEEKDAYS,
            tz=LONDON,
            session_minutes=LENGTHS,
        ),
        "dosing",
    )

    assert len(doses) == 6
    for earlier, later in zip(doses, doses[1:], strict=False):
        assert later.start - earlier.start >= timedelta(days=3)


def test_esketamine_maintenance_is_weekly_after_induction() -> None:
    items = propose_schedule(
        ESKETAMINE,
        start=MONDAY,
        first_phase="induction",
        through_phase="maintenance_weeks_5_8",
        clinic_hours=WEEKDAYS,
        tz=LONDON,
        session_minutes=LENGTHS,
    )
    doses = of_kind(items, "dosing")
    maintenance = [d for d in doses if d.phase == "maintenance_weeks_5_8"]

    assert len(doses) == 12
    assert len(maintenance) == 4
    for earlier, later in zip(maintenance, maintenance[1:], strict=False):
        assert (later.start.date() - earlier.start.date()).days >= 7


def test_an_open_ended_phase_needs_a_dose_limit() -> None:
    with pytest.raises(ScheduleError, match="open-ended"):
        propose_schedule(
            ESKETAMINE,
            start=MONDAY,
            first_phase="maintenance_week_9_on",
            clinic_hours=WEEKDAYS,
            tz=LONDON,
            session_minutes=LENGTHS,
            include_preparation=False,
        )


def test_max_doses_limits_an_open_ended_phase() -> None:
    items = propose_schedule(
        ESKETAMINE,
        start=MONDAY,
        first_phase="maintenance_week_9_on",
        clinic_hours=WEEKDAYS,
        tz=LONDON,
        session_minutes=LENGTHS,
        include_preparation=False,
        max_doses=3,
    )

    assert len(of_kind(items, "dosing")) == 3
    assert of_kind(items, "preparation") == []


def test_a_dosing_session_must_cover_the_observation_time() -> None:
    short = SessionLengths(preparation=60, dosing=120, integration=60)

    with pytest.raises(ScheduleError, match="160 min"):
        iv_schedule(session_minutes=short)


def test_a_clinic_with_no_hours_cannot_be_scheduled() -> None:
    with pytest.raises(ScheduleError, match="no free slot for preparation"):
        iv_schedule(clinic_hours={})


def test_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ScheduleError, match="no phase 'loading'"):
        iv_schedule(first_phase="loading")


def test_integration_that_cannot_fit_the_window_is_reported() -> None:
    # Open only on Mondays: a Monday dose has no integration slot 24-72 h later.
    mondays: ClinicHours = {0: (time(9), time(17))}

    with pytest.raises(ScheduleError, match="no free integration slot"):
        iv_schedule(clinic_hours=mondays)


def test_reasons_cite_the_protocol_sources() -> None:
    items = iv_schedule()

    assert "source: Telehealth KAP network" in of_kind(items, "preparation")[0].reason
    assert "source: ELEKT-D (Anand A et al." in of_kind(items, "dosing")[0].reason
    assert "elektd" not in of_kind(items, "dosing")[0].reason  # the key never reaches a screen
    assert "24-72 h" in of_kind(items, "integration")[0].reason
