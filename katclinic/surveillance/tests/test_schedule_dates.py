"""When surveillance items fall due: pure date arithmetic."""

from datetime import date

from katclinic.surveillance.schedule import latest_due, next_due

START = date(2026, 3, 2)


def due(today: date, first: int = 28, every: int = 28) -> date | None:
    return latest_due(started_on=START, first_after_days=first, every_days=every, today=today)


def test_nothing_is_due_before_the_first_occurrence() -> None:
    assert due(date(2026, 3, 29)) is None


def test_the_first_occurrence_is_due_on_its_day() -> None:
    assert due(date(2026, 3, 30)) == date(2026, 3, 30)


def test_between_occurrences_the_latest_one_is_due() -> None:
    assert due(date(2026, 4, 26)) == date(2026, 3, 30)
    assert due(date(2026, 4, 27)) == date(2026, 4, 27)


def test_a_long_gap_gives_only_the_latest_occurrence() -> None:
    assert due(date(2026, 12, 1)) == date(2026, 11, 9)  # 3-30 plus 8 times 28 days


def test_first_after_zero_is_due_on_the_first_day() -> None:
    assert due(START, first=0, every=84) == START


def test_next_due_is_the_first_or_the_one_after_the_latest() -> None:
    def after(today: date) -> date:
        return next_due(started_on=START, first_after_days=28, every_days=28, today=today)

    assert after(date(2026, 3, 10)) == date(2026, 3, 30)
    assert after(date(2026, 3, 30)) == date(2026, 4, 27)
