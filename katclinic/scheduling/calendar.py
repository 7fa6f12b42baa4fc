"""The calendar's layout: which days a view shows, the time rows, and where each appointment
sits in the grid of days × columns (clinicians, rooms or chairs). Pure: no database.

Times here are the clinic's wall-clock times (aware datetimes in the clinic's zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

VIEWS = ("day", "week")
DEFAULT_HOURS = (time(8), time(18))

Hours = Mapping[int, tuple[time, time]]
Interval = tuple[datetime, datetime]


def days_for(anchor: date, view: str) -> list[date]:
    """The day itself, or the Monday-to-Sunday week that holds it."""
    if view == "day":
        return [anchor]
    monday = anchor - timedelta(days=anchor.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def shift(anchor: date, view: str, steps: int) -> date:
    """The anchor of the previous (-1) or next (+1) day or week."""
    return anchor + timedelta(days=steps * (1 if view == "day" else 7))


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Entry:
    pk: int
    column: str
    start: datetime
    end: datetime
    title: str
    kind: str
    state: str
    detail: str = ""


@dataclass
class Cell:
    day: date
    column: Column
    start: datetime
    open: bool
    rows: int = 1
    entries: list[Entry] = field(default_factory=list)
    covered: bool = False


@dataclass
class Row:
    start: time
    cells: list[Cell]


@dataclass
class Grid:
    days: list[date]
    columns: list[Column]
    rows: list[Row]
    slot_minutes: int

    @property
    def empty(self) -> bool:
        return not any(cell.entries for row in self.rows for cell in row.cells)


def _floor(moment: time, minutes: int) -> time:
    total = (moment.hour * 60 + moment.minute) // minutes * minutes
    return time(total // 60, total % 60)


def _ceil_minutes(moment: time, minutes: int) -> int:
    total = moment.hour * 60 + moment.minute + (1 if moment.second or moment.microsecond else 0)
    return min(ceil(total / minutes) * minutes, 24 * 60)


def bounds(
    days: Sequence[date], hours: Hours, entries: Iterable[Entry], slot_minutes: int
) -> tuple[time, int]:
    """The first row's time and the number of rows: the widest opening hours of the days shown,
    stretched to hold any appointment outside them (08:00-18:00 when no hours are set)."""
    spans = [hours[d.weekday()] for d in days if d.weekday() in hours]
    opens = min((s[0] for s in spans), default=DEFAULT_HOURS[0])
    closes_min = max(
        (_ceil_minutes(s[1], slot_minutes) for s in spans),
        default=DEFAULT_HOURS[1].hour * 60,
    )
    shown = set(days)
    for entry in entries:
        if entry.start.date() not in shown:
            continue
        opens = min(opens, entry.start.time())
        end = entry.end.time() if entry.end.date() == entry.start.date() else time(23, 59)
        closes_min = max(closes_min, _ceil_minutes(end, slot_minutes))
    first = _floor(opens, slot_minutes)
    first_min = first.hour * 60 + first.minute
    count = max(1, ceil((closes_min - first_min) / slot_minutes))
    return first, count


def is_open(hours: Hours, start: datetime, end: datetime) -> bool:
    span = hours.get(start.weekday())
    return (
        span is not None
        and start.date() == end.date()
        and span[0] <= start.time()
        and end.time() <= span[1]
    )


def _empty_cells(
    days: Sequence[date],
    columns: Sequence[Column],
    hours: Hours,
    first: time,
    count: int,
    step: timedelta,
    tz: ZoneInfo,
) -> dict[tuple[date, str], list[Cell]]:
    """`count` cells from `first` for each day × column, open where the clinic is."""
    grid: dict[tuple[date, str], list[Cell]] = {}
    for day in days:
        origin = datetime.combine(day, first, tzinfo=tz)
        for column in columns:
            grid[(day, column.key)] = [
                Cell(
                    day,
                    column,
                    origin + i * step,
                    is_open(hours, origin + i * step, origin + (i + 1) * step),
                )
                for i in range(count)
            ]
    return grid


def _place(cells: list[Cell], entry: Entry, step: timedelta) -> None:
    """Put `entry` in the cell of the step it starts in, or the cell already covering that
    step, and cover the steps it lasts."""
    count = len(cells)
    origin = cells[0].start
    index = min(max(int((entry.start - origin) / step), 0), count - 1)
    last = min(max(ceil((entry.end - origin) / step), index + 1), count)
    owner = index
    while cells[owner].covered:
        owner -= 1
    cell = cells[owner]
    cell.entries.append(entry)
    new_end = max(owner + cell.rows, last)
    for covered in range(owner + 1, new_end):
        cells[covered].covered = True
    cell.rows = new_end - owner


def layout(
    *,
    days: Sequence[date],
    columns: Sequence[Column],
    entries: Sequence[Entry],
    hours: Hours,
    slot_minutes: int,
    tz: ZoneInfo,
) -> Grid:
    """Rows of cells, one per day × column per time step. An appointment occupies the cell of
    the step it starts in and spans the steps it lasts (`rows`); the cells it covers are marked
    `covered`. Appointments that overlap in one column share one cell."""
    first, count = bounds(days, hours, entries, slot_minutes)
    step = timedelta(minutes=slot_minutes)
    grid = _empty_cells(days, columns, hours, first, count, step, tz)
    for entry in sorted(entries, key=lambda e: (e.start, e.pk)):
        cells = grid.get((entry.start.date(), entry.column))
        if cells is not None:
            _place(cells, entry, step)
    rows = [
        Row(
            (datetime.combine(days[0], first) + i * step).time(),
            [grid[(day, column.key)][i] for day in days for column in columns],
        )
        for i in range(count)
    ]
    return Grid(list(days), list(columns), rows, slot_minutes)


# ---- free slots ---------------------------------------------------------------------------


def candidate_starts(
    *,
    days: Iterable[date],
    hours: Hours,
    tz: ZoneInfo,
    duration: timedelta,
    slot_minutes: int,
    not_before: datetime,
) -> Iterator[datetime]:
    """Every start on the booking grid, inside opening hours, at or after `not_before`."""
    step = timedelta(minutes=slot_minutes)
    for day in days:
        span = hours.get(day.weekday())
        if span is None:
            continue
        start = datetime.combine(day, span[0], tzinfo=tz)
        close = datetime.combine(day, span[1], tzinfo=tz)
        while start + duration <= close:
            if start >= not_before:
                yield start
            start += step


def _free(intervals: Sequence[Interval], start: datetime, end: datetime) -> bool:
    return not any(s < end and start < e for s, e in intervals)


@dataclass(frozen=True)
class FreeSlot:
    start: datetime
    end: datetime
    staff: int
    place: int | None


def free_slots(
    *,
    starts: Iterable[datetime],
    duration: timedelta,
    staff: Sequence[int],
    places: Sequence[int] | None,
    busy_staff: Mapping[int, Sequence[Interval]],
    busy_places: Mapping[int, Sequence[Interval]],
) -> Iterator[FreeSlot]:
    """For each start, each staff member free for the whole visit, in the order given, with
    the first chair or room free then (when `places` is given); a start with nowhere free is
    skipped."""
    for start in starts:
        end = start + duration
        where = None
        if places is not None:
            where = next((p for p in places if _free(busy_places.get(p, ()), start, end)), None)
            if where is None:
                continue
        for who in staff:
            if _free(busy_staff.get(who, ()), start, end):
                yield FreeSlot(start, end, who, where)
