"""Rooms, chairs, opening hours, closures, staff working hours and leave: every change here
runs in one transaction with its audit event.

A change that would leave booked future appointments outside the new arrangement (a closure
over booked days, a chair retired with sessions in it, shorter hours) is refused with
`Stranded` until the caller confirms those exact appointments; the confirmation is recorded
in the audit event. Nothing here cancels or moves an appointment.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.opening_hours import set_opening_hours
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import (
    Appointment,
    AppointmentQuerySet,
    Chair,
    ClinicClosure,
    Kind,
    Room,
    StaffAvailability,
    StaffLeave,
    State,
)

CHAIR_FLAGS = ("supports_iv", "supports_intranasal", "supports_oral", "supports_im")
Window = tuple[time, time]


class Stranded(Exception):
    """The change would leave these booked appointments outside it; confirm them first."""

    def __init__(self, appointments: list[Appointment]) -> None:
        self.appointments = appointments
        super().__init__(f"{len(appointments)} booked appointments would be affected")


def upcoming(clinic: Clinic) -> AppointmentQuerySet:
    """Booked or confirmed appointments that have not ended yet."""
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(state__in=[State.BOOKED, State.CONFIRMED], end__gt=timezone.now())
        .select_related("patient", "staff", "room", "chair__room", "plan__protocol_version")
        .order_by("start", "pk")
    )


def _confirm(stranded: Iterable[Appointment], confirmed: Collection[int]) -> list[int]:
    """The stranded ids, if every one was among those the person confirmed; else refuse."""
    rows = list(stranded)
    ids = sorted(a.pk for a in rows)
    if not set(ids) <= set(confirmed):
        raise Stranded(rows)
    return ids


def _local(clinic: Clinic, appointment: Appointment) -> tuple[datetime, datetime]:
    tz = clinic_tz(clinic)
    return appointment.start.astimezone(tz), appointment.end.astimezone(tz)


def _inside(window: Window | None, start: datetime, end: datetime) -> bool:
    return (
        window is not None
        and start.date() == end.date()
        and window[0] <= start.time()
        and end.time() <= window[1]
    )


def _on_days(clinic: Clinic, rows: AppointmentQuerySet, first: date, last: date) -> list[Any]:
    found = []
    for appointment in rows:
        start, end = _local(clinic, appointment)
        if start.date() <= last and end.date() >= first:
            found.append(appointment)
    return found


def _record(
    *,
    request: HttpRequest | None,
    by: User,
    action: Action,
    clinic: Clinic,
    obj: Any,
    detail: dict[str, Any],
    stranded: list[int] | None = None,
) -> None:
    if stranded:
        detail["stranded_appointments_confirmed"] = stranded
    audit.record(
        request=request, user=by, action=action, clinic_id=clinic.pk, obj=obj, detail=detail
    )


# ---- rooms and chairs ---------------------------------------------------------------------


@transaction.atomic
def save_room(
    *,
    clinic: Clinic,
    by: User,
    name: str,
    is_active: bool = True,
    room: Room | None = None,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> Room:
    """Add a room, or rename, retire or bring back one; retiring a room retires its chairs."""
    creating = room is None
    if room is None:
        room = Room(clinic=clinic)
    else:
        room = Room.objects.select_for_update().get(pk=room.pk, clinic=clinic)
    before = {"name": room.name, "is_active": room.is_active}
    detail: dict[str, Any] = {"name": name.strip(), "is_active": is_active}
    stranded: list[int] = []
    if not creating and room.is_active and not is_active:
        affected = upcoming(clinic).filter(Q(room=room) | Q(chair__room=room))
        stranded = _confirm(affected, confirmed)
        chairs = Chair.objects.filter(room=room, is_active=True)
        detail["chairs_retired"] = list(chairs.values_list("pk", flat=True))
        chairs.update(is_active=False)
    room.name, room.is_active = name.strip(), is_active
    room.save()
    if not creating:
        detail["before"] = before
    _record(
        request=request,
        by=by,
        action=Action.CREATE if creating else Action.UPDATE,
        clinic=clinic,
        obj=room,
        detail=detail,
        stranded=stranded,
    )
    return room


def _chair_stranded(clinic: Clinic, chair: Chair, after: Chair) -> list[Appointment]:
    """Booked sessions in `chair` that `after` (its new state) could no longer hold."""
    rows = upcoming(clinic).filter(chair=chair)
    if not after.is_active:
        return list(rows)
    found = []
    for appointment in rows.filter(kind=Kind.DOSING).exclude(plan=None):
        route = appointment.plan.protocol_version.route if appointment.plan else None
        if route and not after.supports(route):
            found.append(appointment)
    return found


def _check_chair(clinic: Clinic, room: Room, supports: Collection[str]) -> None:
    if room.clinic_id != clinic.pk:
        raise ValueError("the room belongs to another clinic")
    unknown = set(supports) - set(CHAIR_FLAGS)
    if unknown:
        raise ValueError(f"unknown chair equipment: {sorted(unknown)}")


def _chair_facts(chair: Chair, supports: Collection[str]) -> dict[str, Any]:
    """What the audit trail keeps of a chair: its room, name, service and equipment."""
    return {
        "room": chair.room_id,
        "name": chair.name,
        "is_active": chair.is_active,
        "supports": [f for f in CHAIR_FLAGS if f in supports],
    }


def _chair_as_saved(
    clinic: Clinic, current: Chair, room: Room, name: str, supports: Collection[str], active: bool
) -> Chair:
    """The chair as it will be stored; a chair in a retired room is out of service too."""
    return Chair(
        pk=current.pk,
        clinic=clinic,
        room=room,
        name=name.strip(),
        is_active=active and room.is_active,
        **{f: f in supports for f in CHAIR_FLAGS},
    )


@transaction.atomic
def save_chair(
    *,
    clinic: Clinic,
    by: User,
    room: Room,
    name: str,
    supports: Collection[str],
    is_active: bool = True,
    chair: Chair | None = None,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> Chair:
    """Add or change a chair: its room, name, what it supports (names from CHAIR_FLAGS) and
    whether it is in service. A chair is retired, never deleted."""
    _check_chair(clinic, room, supports)
    creating = chair is None
    current = (
        Chair(clinic=clinic)
        if chair is None
        else Chair.objects.select_for_update().get(pk=chair.pk, clinic=clinic)
    )
    before = _chair_facts(current, {f for f in CHAIR_FLAGS if getattr(current, f)})
    after = _chair_as_saved(clinic, current, room, name, supports, is_active)
    stranded = [] if creating else _confirm(_chair_stranded(clinic, current, after), confirmed)
    after.save()
    detail = _chair_facts(after, supports)
    if not creating:
        detail["before"] = before
    _record(
        request=request,
        by=by,
        action=Action.CREATE if creating else Action.UPDATE,
        clinic=clinic,
        obj=after,
        detail=detail,
        stranded=stranded,
    )
    return after


# ---- opening hours and closures -----------------------------------------------------------


def _outside_hours(
    clinic: Clinic, rows: AppointmentQuerySet, hours: dict[int, Window]
) -> list[Appointment]:
    found = []
    for appointment in rows:
        start, end = _local(clinic, appointment)
        if not _inside(hours.get(start.weekday()), start, end):
            found.append(appointment)
    return found


def stranded_by_hours(clinic: Clinic, hours: dict[int, Window]) -> list[Appointment]:
    """Booked appointments that would fall outside the new weekly `hours`."""
    return _outside_hours(clinic, upcoming(clinic), hours)


@transaction.atomic
def change_opening_hours(
    *,
    clinic: Clinic,
    hours: dict[int, Window],
    by: User,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> Clinic:
    """Set the weekly hours (weekday 0 is Monday; a day left out is closed)."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    stranded = _confirm(stranded_by_hours(clinic, hours), confirmed)
    detail = {"stranded_appointments_confirmed": stranded} if stranded else {}
    return set_opening_hours(clinic=clinic, hours=hours, by=by, request=request, detail=detail)


@transaction.atomic
def add_closure(
    *,
    clinic: Clinic,
    starts_on: date,
    ends_on: date,
    reason: str,
    by: User,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> ClinicClosure:
    """Close the clinic from `starts_on` to `ends_on` inclusive."""
    if ends_on < starts_on or not reason.strip():
        raise ValueError("a closure needs a reason and must end on or after its first day")
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()
    stranded = _confirm(_on_days(clinic, upcoming(clinic), starts_on, ends_on), confirmed)
    closure = ClinicClosure.objects.create(
        clinic=clinic, starts_on=starts_on, ends_on=ends_on, reason=reason.strip(), created_by=by
    )
    _record(
        request=request,
        by=by,
        action=Action.CREATE,
        clinic=clinic,
        obj=closure,
        detail={"starts_on": str(starts_on), "ends_on": str(ends_on), "reason": closure.reason},
        stranded=stranded,
    )
    return closure


@transaction.atomic
def remove_closure(*, closure: ClinicClosure, by: User, request: HttpRequest | None = None) -> None:
    """Open the clinic again on a closure's days (nothing booked is affected)."""
    clinic = closure.clinic
    detail = {
        "removed": True,
        "starts_on": str(closure.starts_on),
        "ends_on": str(closure.ends_on),
        "reason": closure.reason,
    }
    _record(request=request, by=by, action=Action.UPDATE, clinic=clinic, obj=closure, detail=detail)
    closure.delete()


# ---- staff working hours and leave --------------------------------------------------------


def working_hours(clinic: Clinic, staff: User) -> dict[int, Window]:
    """A staff member's weekly hours here, one window a day (the earliest start to the latest
    end where several were entered)."""
    hours: dict[int, Window] = {}
    for row in StaffAvailability.objects.filter(clinic=clinic, staff=staff):
        opens, closes = hours.get(row.weekday, (row.starts, row.ends))
        hours[row.weekday] = (min(opens, row.starts), max(closes, row.ends))
    return hours


@transaction.atomic
def set_working_hours(
    *,
    clinic: Clinic,
    staff: User,
    hours: dict[int, Window],
    by: User,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> None:
    """Replace `staff`'s weekly hours at `clinic`. With no hours at all, bookings are not
    limited by working hours (only by the clinic's opening hours)."""
    for opens, closes in hours.values():
        if opens >= closes:
            raise ValueError("a working day must end after it starts")
    User.objects.select_for_update().filter(pk=staff.pk).first()
    before = working_hours(clinic, staff)
    stranded: list[int] = []
    if hours:
        mine = upcoming(clinic).filter(staff=staff)
        stranded = _confirm(_outside_hours(clinic, mine, hours), confirmed)
    StaffAvailability.objects.filter(clinic=clinic, staff=staff).delete()
    StaffAvailability.objects.bulk_create(
        StaffAvailability(clinic=clinic, staff=staff, weekday=day, starts=opens, ends=closes)
        for day, (opens, closes) in sorted(hours.items())
    )

    def shown(h: dict[int, Window]) -> dict[str, list[str]]:
        return {str(d): [a.strftime("%H:%M"), b.strftime("%H:%M")] for d, (a, b) in h.items()}

    _record(
        request=request,
        by=by,
        action=Action.UPDATE,
        clinic=clinic,
        obj=staff,
        detail={"working_hours": [shown(before), shown(hours)]},
        stranded=stranded,
    )


@transaction.atomic
def add_leave(
    *,
    clinic: Clinic,
    staff: User,
    starts_on: date,
    ends_on: date,
    note: str,
    by: User,
    confirmed: Collection[int] = (),
    request: HttpRequest | None = None,
) -> StaffLeave:
    """Record that `staff` is away from `starts_on` to `ends_on` inclusive."""
    if ends_on < starts_on:
        raise ValueError("leave must end on or after its first day")
    User.objects.select_for_update().filter(pk=staff.pk).first()
    mine = upcoming(clinic).filter(staff=staff)
    stranded = _confirm(_on_days(clinic, mine, starts_on, ends_on), confirmed)
    leave = StaffLeave.objects.create(
        clinic=clinic, staff=staff, starts_on=starts_on, ends_on=ends_on, note=note.strip()
    )
    _record(
        request=request,
        by=by,
        action=Action.CREATE,
        clinic=clinic,
        obj=leave,
        detail={"staff": staff.pk, "starts_on": str(starts_on), "ends_on": str(ends_on)},
        stranded=stranded,
    )
    return leave


@transaction.atomic
def remove_leave(*, leave: StaffLeave, by: User, request: HttpRequest | None = None) -> None:
    detail = {
        "removed": True,
        "staff": leave.staff_id,
        "starts_on": str(leave.starts_on),
        "ends_on": str(leave.ends_on),
    }
    _record(
        request=request, by=by, action=Action.UPDATE, clinic=leave.clinic, obj=leave, detail=detail
    )
    leave.delete()
