"""Propose a course of appointments from a protocol: pure and deterministic, no database.

The proposal places preparation sessions first, then dosing sessions that respect the
protocol's minimum interval, its weekly caps and the clinic's opening hours, and after each
dose an integration session inside the protocol's integration window. Intervals are
measured in real elapsed hours (through UTC), so a daylight-saving change never shortens
the gap between two doses. Every appointment says why it landed where it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from katclinic.protocols.schema import Phase, Protocol

SessionKind = Literal["preparation", "dosing", "integration"]
ClinicHours = Mapping[int, tuple[time, time]]
"""Opening and closing local time per weekday (Monday is 0); missing days are closed."""
BusySlots = Callable[[datetime, datetime], bool] | AbstractSet[tuple[date, time]]
"""Either a callable `(start, end) -> True if unavailable`, or a set of unavailable
`(local date, local slot start time)` pairs."""


class ScheduleError(ValueError):
    """No schedule can be proposed from these inputs."""


@dataclass(frozen=True)
class SessionLengths:
    """Length in minutes of each kind of session, as the clinic books them."""

    preparation: int
    dosing: int
    integration: int


@dataclass(frozen=True)
class ProposedAppointment:
    kind: SessionKind
    start: datetime
    end: datetime
    phase: str
    number: int
    reason: str


@dataclass
class _Planner:
    """Finds free slots and remembers what the proposal has already booked."""

    clinic_hours: ClinicHours
    tz: ZoneInfo
    busy: Callable[[datetime, datetime], bool]
    slot_minutes: int
    search_days: int
    booked: list[ProposedAppointment] = field(default_factory=list)

    def first_free(
        self, earliest: datetime, minutes: int, latest: datetime | None = None
    ) -> datetime | None:
        """The first slot starting at or after `earliest` (and not after `latest`)."""
        earliest = earliest.astimezone(self.tz)
        for offset in range(self.search_days + 1):
            day = earliest.date() + timedelta(days=offset)
            for start in self._slots(day, minutes):
                if latest is not None and _utc(start) > _utc(latest):
                    return None
                if _utc(start) >= _utc(earliest) and self._free(start, minutes):
                    return start
        return None

    def _slots(self, day: date, minutes: int) -> list[datetime]:
        hours = self.clinic_hours.get(day.weekday())
        if hours is None:
            return []
        opening = datetime.combine(day, hours[0], tzinfo=self.tz)
        closing = datetime.combine(day, hours[1], tzinfo=self.tz)
        step = timedelta(minutes=self.slot_minutes)
        slots, start = [], opening
        while start + timedelta(minutes=minutes) <= closing:
            slots.append(start)
            start += step
        return slots

    def _free(self, start: datetime, minutes: int) -> bool:
        end = start + timedelta(minutes=minutes)
        if self.busy(start, end):
            return False
        return all(_utc(end) <= _utc(b.start) or _utc(start) >= _utc(b.end) for b in self.booked)

    def book(
        self, kind: SessionKind, start: datetime, minutes: int, phase: str, reason: str
    ) -> ProposedAppointment:
        number = 1 + sum(1 for b in self.booked if b.kind == kind)
        end = start + timedelta(minutes=minutes)
        item = ProposedAppointment(kind, start, end, phase, number, reason)
        self.booked.append(item)
        return item

    def doses(self, phase: str | None = None) -> list[ProposedAppointment]:
        return [b for b in self.booked if b.kind == "dosing" and phase in (None, b.phase)]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _after(moment: datetime, hours: int, tz: ZoneInfo) -> datetime:
    """`hours` of real elapsed time after `moment`, as local time in `tz`."""
    return (_utc(moment) + timedelta(hours=hours)).astimezone(tz)


def _busy_callable(busy: BusySlots, slot_minutes: int) -> Callable[[datetime, datetime], bool]:
    if callable(busy):
        return busy
    blocked = frozenset(busy)
    step = timedelta(minutes=slot_minutes)

    def covers_blocked_slot(start: datetime, end: datetime) -> bool:
        moment = start
        while moment < end:
            if (moment.date(), moment.time()) in blocked:
                return True
            moment += step
        return False

    return covers_blocked_slot


def propose_schedule(
    protocol: Protocol,
    *,
    start: date,
    first_phase: str,
    clinic_hours: ClinicHours,
    tz: ZoneInfo,
    session_minutes: SessionLengths,
    busy: BusySlots = frozenset(),
    through_phase: str | None = None,
    max_doses: int | None = None,
    include_preparation: bool = True,
    slot_minutes: int = 30,
    search_days: int = 60,
) -> list[ProposedAppointment]:
    """Propose appointments from `start` for `first_phase` up to `through_phase`
    (default: `first_phase` alone), sorted by start time.

    Open-ended phases need `max_doses`. Raises ScheduleError when the clinic has no room
    within `search_days` of the point where a session is due.
    """
    _check_inputs(protocol, clinic_hours, session_minutes, slot_minutes)
    phases = _phases(protocol, first_phase, through_phase)
    planner = _Planner(
        clinic_hours, tz, _busy_callable(busy, slot_minutes), slot_minutes, search_days
    )
    day_start = datetime.combine(start, time(0), tzinfo=tz)
    if include_preparation:
        day_start = _plan_preparation(protocol, planner, day_start, first_phase, session_minutes)
    remaining = max_doses
    for phase in phases:
        if planner.doses():
            day_start = _next_phase_start(planner.doses()[-1].start, phase, tz)
        count = phase.planned_sessions
        if remaining is not None:
            count = remaining if count is None else min(count, remaining)
        if count is None:
            raise ScheduleError(f"phase {phase.key} is open-ended: pass max_doses")
        _plan_phase(protocol, planner, phase, count, day_start, session_minutes)
        if remaining is not None:
            remaining -= count
    return sorted(planner.booked, key=lambda item: _utc(item.start))


def _check_inputs(
    protocol: Protocol, clinic_hours: ClinicHours, lengths: SessionLengths, slot_minutes: int
) -> None:
    if slot_minutes <= 0:
        raise ScheduleError("slot_minutes must be positive")
    for weekday, (opening, closing) in clinic_hours.items():
        if weekday not in range(7) or opening >= closing:
            raise ScheduleError(f"clinic_hours[{weekday}]: need weekday 0-6 and open < close")
    if min(lengths.preparation, lengths.dosing, lengths.integration) <= 0:
        raise ScheduleError("session lengths must be positive")
    needed = protocol.monitoring.min_observation_minutes.value
    needed += protocol.dose_rule.duration_minutes or 0
    if lengths.dosing < needed:
        raise ScheduleError(
            f"a dosing session of {lengths.dosing} min cannot hold the dose and the "
            f"{needed} min this protocol needs before discharge"
        )


def _phases(protocol: Protocol, first: str, through: str | None) -> list[Phase]:
    keys = [p.key for p in protocol.phases]
    for key in (first, through):
        if key is not None and key not in keys:
            raise ScheduleError(f"protocol {protocol.key} has no phase {key!r}")
    begin = keys.index(first)
    end = keys.index(through) if through is not None else begin
    if end < begin:
        raise ScheduleError("through_phase comes before first_phase")
    return protocol.phases[begin : end + 1]


def _plan_preparation(
    protocol: Protocol,
    planner: _Planner,
    day_start: datetime,
    phase_key: str,
    lengths: SessionLengths,
) -> datetime:
    """Book preparation sessions on separate days; return the first day dosing may use."""
    wanted = protocol.support.preparation_sessions
    for index in range(1, wanted.value + 1):
        slot = planner.first_free(day_start, lengths.preparation)
        if slot is None:
            raise ScheduleError(f"no free slot for preparation session {index}")
        reason = f"Preparation {index} of {wanted.value} before the first dose (source: {protocol.cite(wanted.source)})"
        planner.book("preparation", slot, lengths.preparation, phase_key, reason)
        day_start = _next_day(slot, planner.tz)
    return day_start


def _day_start(moment: datetime, days_later: int, tz: ZoneInfo) -> datetime:
    """Local midnight `days_later` days after the day of `moment`."""
    return datetime.combine(moment.date() + timedelta(days=days_later), time(0), tzinfo=tz)


def _next_day(moment: datetime, tz: ZoneInfo) -> datetime:
    return _day_start(moment, 1, tz)


def _next_phase_start(last_dose: datetime, phase: Phase, tz: ZoneInfo) -> datetime:
    """Where `phase` begins after an earlier phase: one of its own gaps after the last dose."""
    gap = phase.interval_days or (7 // phase.per_week if phase.per_week else 1)
    return _day_start(last_dose, gap, tz)


def _plan_phase(
    protocol: Protocol,
    planner: _Planner,
    phase: Phase,
    count: int,
    anchor: datetime,
    lengths: SessionLengths,
) -> None:
    if phase.per_week is None and phase.interval_days is None:
        raise ScheduleError(f"phase {phase.key} has no set frequency to schedule from")
    for index in range(count):
        target = _target_day(phase, index, anchor, planner)
        slot = _dose_slot(protocol, planner, phase, target, lengths.dosing)
        reason = _dose_reason(protocol, phase, index + 1, count, target, slot)
        dose = planner.book("dosing", slot, lengths.dosing, phase.key, reason)
        if protocol.support.integration_after_each_dose:
            _plan_integration(protocol, planner, dose, lengths.integration)


def _target_day(phase: Phase, index: int, anchor: datetime, planner: _Planner) -> datetime:
    """The day this dose would fall on if nothing were in the way."""
    if phase.per_week is not None:
        # Spread the week's doses evenly from the phase start (2 a week: day 0, 3, 7, 10...).
        return anchor + timedelta(days=index * 7 // phase.per_week)
    previous = planner.doses(phase.key)
    if not previous or phase.interval_days is None:
        return anchor
    return _day_start(previous[-1].start, phase.interval_days, planner.tz)


def _dose_slot(
    protocol: Protocol, planner: _Planner, phase: Phase, target: datetime, minutes: int
) -> datetime:
    """First slot on or after `target` that keeps the interval and the weekly caps."""
    spacing = protocol.spacing
    earliest = target
    for _ in range(planner.search_days):
        doses = planner.doses()
        if doses:
            gap = _after(doses[-1].start, spacing.min_interval_hours.value, planner.tz)
            earliest = max(earliest, gap, key=_utc)
        slot = planner.first_free(earliest, minutes)
        if slot is None:
            break
        blocker = _weekly_blocker(protocol, planner, phase, slot)
        if blocker is None:
            return slot
        # Too many doses in this 7-day window: wait until the oldest one's day leaves it.
        earliest = _day_start(blocker, 7, planner.tz)
    raise ScheduleError(f"no free dosing slot for phase {phase.key} from {target.date()}")


def _weekly_blocker(
    protocol: Protocol, planner: _Planner, phase: Phase, slot: datetime
) -> datetime | None:
    """The oldest dose that makes `slot` break a weekly cap, if any.

    A week is counted in local calendar days: the 7 days ending on the day of `slot`, so a
    09:00 dose next Tuesday is not blocked by a 09:30 dose this Tuesday.
    """
    first_day = slot.date() - timedelta(days=6)
    caps = [(planner.doses(), protocol.spacing.max_doses_per_week.value)]
    if phase.per_week is not None:
        caps.append((planner.doses(phase.key), phase.per_week))
    for doses, cap in caps:
        recent = [d.start for d in doses if d.start.date() >= first_day]
        if len(recent) >= cap:
            return min(recent, key=_utc)
    return None


def _dose_reason(
    protocol: Protocol, phase: Phase, number: int, count: int, target: datetime, slot: datetime
) -> str:
    spacing = protocol.spacing
    frequency = (
        f"{phase.per_week} a week" if phase.per_week else f"every {phase.interval_days} days"
    )
    moved = "" if slot.date() == target.date() else f", moved from {target.date()}"
    return (
        f"{phase.name.capitalize()} dose {number} of {count} ({frequency}, "
        f"source: {protocol.cite(phase.source)}){moved}; at least {spacing.min_interval_hours.value} h "
        f"after the previous dose and at most {spacing.max_doses_per_week.value} "
        f"doses in any 7 calendar days"
    )


def _plan_integration(
    protocol: Protocol, planner: _Planner, dose: ProposedAppointment, minutes: int
) -> None:
    support = protocol.support
    opens = _after(dose.start, support.integration_window_min_hours, planner.tz)
    closes = _after(dose.start, support.integration_window_max_hours, planner.tz)
    slot = planner.first_free(opens, minutes, latest=closes)
    if slot is None:
        raise ScheduleError(
            f"no free integration slot {support.integration_window_min_hours}-"
            f"{support.integration_window_max_hours} h after the dose on {dose.start.date()}"
        )
    reason = (
        f"Integration after dose {dose.number}, "
        f"{support.integration_window_min_hours}-{support.integration_window_max_hours} h "
        f"after it (source: {protocol.cite(support.integration_window_source)})"
    )
    planner.book("integration", slot, minutes, dose.phase, reason)
