"""Set-up for scheduling tests: a clinic with hours, a room with chairs, appointments."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from katclinic.clinics.models import ClinicSetting
from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import ical, services
from katclinic.scheduling.models import Appointment, Chair, ClinicClosure, Room, StaffLeave


def chairs(t: Any) -> list[Chair]:
    plan_fixtures.ready_clinic(t)
    if not Chair.objects.filter(clinic=t.clinic).exists():
        room = Room.objects.create(clinic=t.clinic, name="Treatment room")
        Chair.objects.create(clinic=t.clinic, room=room, name="Chair 1")
        Room.objects.create(clinic=t.clinic, name="Consulting room")
    return list(Chair.objects.filter(clinic=t.clinic).order_by("pk"))


def at(t: Any, days: int, hour: int, minute: int = 0) -> datetime:
    """Local clinic time, `days` after next Monday."""
    day = plan_fixtures.next_monday() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(t.clinic.timezone))


def next_start(t: Any) -> datetime:
    """A fresh hour each call (inside opening hours), so repeated bookings never collide."""
    count = getattr(t, "_slot_counter", 0)
    t._slot_counter = count + 1
    return at(t, 14 + 7 * (count // 45) + (count // 9) % 5, 8 + count % 9)


def appointment(t: Any, kind: str = "consultation") -> Appointment:
    chairs(t)
    start = next_start(t)
    slot = services.Slot(t.paula, start, start + timedelta(minutes=30))
    return services.book(patient=t.pat, kind=kind, slot=slot, by=t.alice)


def feed_token(t: Any) -> str:
    chairs(t)
    return ical.issue_feed(clinic=t.clinic, staff=t.nick)


def enable_requests(t: Any) -> str:
    ClinicSetting.objects.get_or_create(
        clinic=t.clinic,
        key="scheduling_online_requests",
        defaults={"value": True, "changed_by": t.adam},
    )
    return t.clinic.slug


def closure(t: Any) -> ClinicClosure:
    day = at(t, 300, 9).date()
    return ClinicClosure.objects.create(
        clinic=t.clinic, starts_on=day, ends_on=day, reason="Public holiday", created_by=t.adam
    )


def leave(t: Any) -> StaffLeave:
    day = at(t, 300, 9).date()
    return StaffLeave.objects.create(clinic=t.clinic, staff=t.nick, starts_on=day, ends_on=day)
