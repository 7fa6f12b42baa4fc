"""Cumulative ketamine exposure: a dose as a `DoseEvent`, and pure sums over them.

Doses are recorded by more than one app (in-clinic administrations in `dosing`,
take-home sessions in `athome`); `katclinic.surveillance.sources` reads them all as
`DoseEvent`s. The sums here need no database, so they are tested without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class DoseEvent:
    at: datetime
    mg: Decimal
    route: str
    # Where the dose was recorded, e.g. "clinic" or "home".
    setting: str
    # The record the dose comes from, for links and audit ("dosing.Administration", 12).
    source_type: str
    source_id: int


# --------------------------------------------------------------------------- sums
# Pure functions over DoseEvents. A rolling window "of N days at t" holds the doses
# given after t - N days and up to t included: a dose exactly N days before t has
# left the window, a dose at t is in it.

ROLLING_30_DAYS = timedelta(days=30)
ROLLING_12_MONTHS = timedelta(days=365)


@dataclass(frozen=True)
class Total:
    mg: Decimal
    by_route: dict[str, Decimal]
    doses: int


def total(events: Iterable[DoseEvent]) -> Total:
    """The sum of ``events``, overall and by route (routes sorted by name)."""
    by_route: dict[str, Decimal] = {}
    count = 0
    for event in events:
        by_route[event.route] = by_route.get(event.route, Decimal(0)) + event.mg
        count += 1
    return Total(sum(by_route.values(), Decimal(0)), dict(sorted(by_route.items())), count)


def in_window(events: Iterable[DoseEvent], *, at: datetime, length: timedelta) -> list[DoseEvent]:
    """The doses in the rolling window of ``length`` ending at ``at`` (see above)."""
    start = at - length
    return [event for event in events if start < event.at <= at]


def rolling(events: Iterable[DoseEvent], *, at: datetime, length: timedelta) -> Total:
    return total(in_window(events, at=at, length=length))


def in_course(events: Iterable[DoseEvent], *, start: datetime, end: datetime | None) -> Total:
    """Doses from the course's first moment ``start`` (included) to ``end`` (excluded)."""
    return total(e for e in events if e.at >= start and (end is None or e.at < end))


@dataclass(frozen=True)
class Exposure:
    course: Total | None
    last_30_days: Total
    last_12_months: Total


def exposure(
    events: Iterable[DoseEvent],
    *,
    at: datetime,
    course_start: datetime | None = None,
    course_end: datetime | None = None,
) -> Exposure:
    """Cumulative exposure at ``at``: in the course (if one is given) and the rolling windows."""
    events = [event for event in events if event.at <= at]
    course = None if course_start is None else in_course(events, start=course_start, end=course_end)
    return Exposure(
        course=course,
        last_30_days=rolling(events, at=at, length=ROLLING_30_DAYS),
        last_12_months=rolling(events, at=at, length=ROLLING_12_MONTHS),
    )


def _after_each_moment(
    events: Sequence[DoseEvent], length: timedelta
) -> Iterator[tuple[DoseEvent, Decimal, Decimal]]:
    """For each moment with doses: its last dose, and the rolling total just before and
    just after that moment's doses. One pass over the doses, oldest first."""
    ordered = sorted(events, key=lambda e: (e.at, e.source_type, e.source_id))
    first = 0
    running = Decimal(0)
    for index, event in enumerate(ordered):
        running += event.mg
        if index + 1 < len(ordered) and ordered[index + 1].at == event.at:
            continue  # the window at this moment is complete only with its last dose
        while ordered[first].at <= event.at - length:
            running -= ordered[first].mg
            first += 1
        at_moment, back = Decimal(0), index
        while back >= first and ordered[back].at == event.at:
            at_moment += ordered[back].mg
            back -= 1
        yield event, running - at_moment, running


def rolling_series(
    events: Sequence[DoseEvent], *, length: timedelta
) -> list[tuple[datetime, Decimal]]:
    """The rolling total just after each moment with doses, oldest first (for a chart)."""
    return [(event.at, after) for event, _, after in _after_each_moment(events, length)]


def crossings(
    events: Sequence[DoseEvent], *, length: timedelta, threshold: Decimal
) -> list[DoseEvent]:
    """Each dose that took the rolling total from at most ``threshold`` to above it.

    Doses given at the same moment count together: the crossing dose is the last of them.
    """
    return [
        event
        for event, before, after in _after_each_moment(events, length)
        if before <= threshold < after
    ]


def daily_rolling(
    events: Sequence[DoseEvent], *, end: datetime, days: int, length: timedelta
) -> list[tuple[datetime, Decimal]]:
    """The rolling total at the same time of day on each of the ``days`` days up to ``end``."""
    return [
        (at, rolling(events, at=at, length=length).mg)
        for at in (end - timedelta(days=back) for back in range(days, -1, -1))
    ]
