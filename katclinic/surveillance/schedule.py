"""When a protocol's surveillance item is due: pure date arithmetic, no database."""

from __future__ import annotations

from datetime import date, timedelta

# The clinic screen sent for each kind; liver tests are a reminder to the prescriber.
SCREEN_INSTRUMENTS: dict[str, str] = {
    "bladder": "bladder_screen",
    "misuse": "misuse_screen",
    "cognition": "cognition_screen",
}
REMINDER_KINDS = frozenset({"liver_tests"})


def latest_due(
    *, started_on: date, first_after_days: int, every_days: int, today: date
) -> date | None:
    """The most recent due date on or before ``today``, or None before the first one.

    Occurrences are ``started_on + first_after_days + n * every_days``. Only the latest
    is returned: a screen missed while the job was down is not sent several times over.
    """
    first = started_on + timedelta(days=first_after_days)
    if today < first:
        return None
    passed = (today - first).days // every_days
    return first + timedelta(days=passed * every_days)


def next_due(*, started_on: date, first_after_days: int, every_days: int, today: date) -> date:
    """The first due date after ``today``."""
    latest = latest_due(
        started_on=started_on,
        first_after_days=first_after_days,
        every_days=every_days,
        today=today,
    )
    if latest is None:
        return started_on + timedelta(days=first_after_days)
    return latest + timedelta(days=every_days)
