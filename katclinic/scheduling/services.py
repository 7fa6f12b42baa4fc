"""Booking, moving and cancelling appointments; proposing and booking a plan's schedule.

Every booking runs in one transaction that first locks the staff member and the chair or
room, then looks for overlaps, so two people booking the same chair at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlannedDose, PlanStatus
from katclinic.protocols.scheduling import ProposedAppointment, ScheduleError, propose_schedule
from katclinic.scheduling import confirmations, reminders
from katclinic.scheduling.clinic_settings import SLOT_MINUTES, VISIT_MINUTES
from katclinic.scheduling.hours import clinic_hours, clinic_tz, session_lengths
from katclinic.scheduling.models import (
    ROUTE_LABELS,
    Appointment,
    Chair,
    ClinicClosure,
    Kind,
    Room,
    StaffAvailability,
    StaffLeave,
    State,
)


class ScheduleConflict(ValueError):
    """The booking is refused; `reasons` says what is in the way, and `fields` which form
    field (start, staff, chair, room) each reason is about, where it is about one."""

    def __init__(self, reasons: list[str], fields: dict[str, str] | None = None) -> None:
        self.reasons = reasons
        self.fields = fields or {}
        super().__init__("; ".join(reasons))

    def by_field(self) -> list[tuple[str | None, str]]:
        return [(self.fields.get(reason), reason) for reason in self.reasons]


@dataclass(frozen=True)
class Slot:
    staff: User
    start: datetime
    end: datetime
    room: Room | None = None
    chair: Chair | None = None


def _staff_conflicts(clinic: Clinic, slot: Slot, exclude: int | None) -> list[str]:
    return [reason for _, reason in _staff_problems(clinic, slot, exclude)]


def _staff_problems(
    clinic: Clinic, slot: Slot, exclude: int | None
) -> list[tuple[str | None, str]]:
    tz = clinic_tz(clinic)
    local_start, local_end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    problems: list[tuple[str | None, str]] = []
    windows = StaffAvailability.objects.filter(clinic=clinic, staff=slot.staff)
    if windows.exists():
        fits = windows.filter(
            weekday=local_start.weekday(),
            starts__lte=local_start.time(),
            ends__gte=local_end.time(),
        ).exists()
        if not fits or local_start.date() != local_end.date():
            problems.append(("staff", f"{slot.staff.full_name} does not work then"))
    away = StaffLeave.objects.filter(
        staff=slot.staff, starts_on__lte=local_end.date(), ends_on__gte=local_start.date()
    ).exists()
    if away:
        problems.append(("staff", f"{slot.staff.full_name} is on leave"))
    clash = (
        Appointment.objects.filter(staff=slot.staff)
        .overlapping(slot.start, slot.end)
        .exclude(pk=exclude or 0)
    )
    if clash.exists():
        problems.append(("staff", f"{slot.staff.full_name} already has an appointment then"))
    return problems


def conflicts(
    clinic: Clinic,
    slot: Slot,
    *,
    kind: str,
    exclude: int | None = None,
    route: str | None = None,
) -> list[str]:
    """Everything that stops `slot` from being booked, in words for front desk."""
    return [
        reason
        for _, reason in conflicts_by_field(clinic, slot, kind=kind, exclude=exclude, route=route)
    ]


def _kind_problems(slot: Slot, kind: str, route: str | None) -> list[tuple[str | None, str]]:
    """The slot's own shape: it ends after it starts, and a dosing visit has a chair fit for
    the route."""
    problems: list[tuple[str | None, str]] = []
    if slot.end <= slot.start:
        problems.append(("start", "the appointment must end after it starts"))
    if kind == Kind.DOSING and slot.chair is None:
        problems.append(("chair", "a dosing session needs a chair"))
    if kind == Kind.DOSING and slot.chair is not None and route and not slot.chair.supports(route):
        problems.append(
            (
                "chair",
                f"chair {slot.chair} is not equipped for {ROUTE_LABELS.get(route, route)} dosing",
            )
        )
    return problems


def _open_problems(clinic: Clinic, slot: Slot) -> list[tuple[str | None, str]]:
    """The clinic's opening hours on the day, and its closures."""
    problems: list[tuple[str | None, str]] = []
    hours = clinic_hours(clinic).get(slot.start.astimezone(clinic_tz(clinic)).weekday())
    local = slot.start.astimezone(clinic_tz(clinic)), slot.end.astimezone(clinic_tz(clinic))
    if (
        hours is None
        or local[0].time() < hours[0]
        or local[1].time() > hours[1]
        or local[0].date() != local[1].date()
    ):
        problems.append(("start", "the clinic is closed then"))
    return problems + [("start", r) for r in closures_during(clinic, slot.start, slot.end)]


def _place_problems(
    clinic: Clinic, slot: Slot, exclude: int | None
) -> list[tuple[str | None, str]]:
    """A retired chair or room, or one another appointment holds then."""
    problems: list[tuple[str | None, str]] = []
    others = (
        Appointment.objects.filter(clinic=clinic)
        .overlapping(slot.start, slot.end)
        .exclude(pk=exclude or 0)
    )
    for field, place in (("chair", slot.chair), ("room", slot.room)):
        if place is not None and not place.is_active:
            problems.append((field, f"{field} {place} is retired"))
    if slot.chair is not None and others.filter(chair=slot.chair).exists():
        problems.append(("chair", f"chair {slot.chair} is taken then"))
    if slot.room is not None and others.filter(room=slot.room).exists():
        problems.append(("room", f"room {slot.room} is taken then"))
    return problems


def conflicts_by_field(
    clinic: Clinic,
    slot: Slot,
    *,
    kind: str,
    exclude: int | None = None,
    route: str | None = None,
) -> list[tuple[str | None, str]]:
    """`conflicts`, each reason paired with the form field it is about (or None)."""
    return (
        _kind_problems(slot, kind, route)
        + _open_problems(clinic, slot)
        + _place_problems(clinic, slot, exclude)
        + _staff_problems(clinic, slot, exclude)
    )


def closures_during(clinic: Clinic, start: datetime, end: datetime) -> list[str]:
    """A reason for each clinic closure that covers any day of [start, end) in clinic time."""
    tz = clinic_tz(clinic)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    closures = ClinicClosure.objects.filter(clinic=clinic, starts_on__lte=last, ends_on__gte=first)
    return [
        f"the clinic is closed on {c.starts_on:%Y-%m-%d}"
        + (f" to {c.ends_on:%Y-%m-%d}" if c.ends_on != c.starts_on else "")
        + f" ({c.reason})"
        for c in closures
    ]


def _raise_if(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise ScheduleConflict(
            [reason for _, reason in problems],
            {reason: field for field, reason in problems if field is not None},
        )


def route_of(plan: Plan | None) -> str | None:
    """The route of the plan's protocol, which a dosing session's chair must support."""
    return plan.protocol_version.route if plan is not None else None


def route_for_patient(patient: Patient) -> str | None:
    """The route of the patient's active plans when they all share one, else None."""
    routes = set(
        Plan.objects.filter(patient=patient, status=PlanStatus.ACTIVE).values_list(
            "protocol_version__route", flat=True
        )
    )
    return routes.pop() if len(routes) == 1 else None


def _lock(slot: Slot) -> None:
    """Serialise bookings that touch the same staff member, chair or room."""
    User.objects.select_for_update().filter(pk=slot.staff.pk).first()
    if slot.chair is not None:
        Chair.objects.select_for_update().filter(pk=slot.chair.pk).first()
    if slot.room is not None:
        Room.objects.select_for_update().filter(pk=slot.room.pk).first()


def _check_resources(clinic: Clinic, slot: Slot) -> None:
    wrong = [
        name
        for name, obj in (("chair", slot.chair), ("room", slot.room))
        if obj is not None and obj.clinic_id != clinic.pk
    ]
    if (
        wrong
        or not StaffMembership.objects.active().filter(user=slot.staff, clinic=clinic).exists()
    ):
        raise ScheduleConflict(["staff, room and chair must belong to this clinic"])


def _check_bookable(
    clinic: Clinic, slot: Slot, kind: str, route: str | None, past_reason: str
) -> None:
    """The slot's resources locked and every booking check passed, or ScheduleConflict."""
    _check_resources(clinic, slot)
    _lock(slot)
    _raise_if(
        [("past_reason", p) for p in past_problems(slot, past_reason)]
        + conflicts_by_field(clinic, slot, kind=kind, route=route)
    )


def _booking_note(slot: Slot, note: str, past_reason: str) -> str:
    """The note, with the reason for booking a time that has passed."""
    if slot.start < timezone.now():
        return " · ".join(p for p in (note, f"Booked after the time: {past_reason.strip()}") if p)
    return note


def _store_appointment(
    clinic: Clinic,
    patient: Patient,
    kind: str,
    slot: Slot,
    by: User,
    plan: Plan | None,
    planned_dose: PlannedDose | None,
    note: str,
) -> Appointment:
    """The appointment, refused when a booking that took the slot a moment ago wins."""
    try:
        with transaction.atomic():
            return Appointment.objects.create(
                clinic=clinic,
                patient=patient,
                kind=kind,
                staff=slot.staff,
                room=slot.room,
                chair=slot.chair,
                start=slot.start,
                end=slot.end,
                plan=plan,
                planned_dose=planned_dose,
                note=note[:300],
                created_by=by,
            )
    except IntegrityError:
        raise ScheduleConflict(["another booking took this slot a moment ago"]) from None


@transaction.atomic
def book(
    *,
    patient: Patient,
    kind: str,
    slot: Slot,
    by: User,
    plan: Plan | None = None,
    planned_dose: PlannedDose | None = None,
    note: str = "",
    route: str | None = None,
    past_reason: str = "",
    notify: bool = True,
    request: HttpRequest | None = None,
) -> Appointment:
    """Book one appointment, or raise ScheduleConflict naming what is in the way.

    A dosing session's chair must support `route`, or the plan's route when none is given.
    A time that has passed needs `past_reason`, which is kept in the note and the audit trail.
    """
    clinic = patient.clinic
    _check_bookable(clinic, slot, kind, route or route_of(plan), past_reason)
    note = _booking_note(slot, note, past_reason)
    appointment = _store_appointment(clinic, patient, kind, slot, by, plan, planned_dose, note)
    reminders.create_for(appointment)
    detail = {"kind": kind, "start": slot.start.isoformat()}
    if past_reason.strip():
        detail["past_reason"] = past_reason.strip()
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        patient_id=patient.pk,
        obj=appointment,
        detail=detail,
    )
    if notify:
        confirmations.send(appointment, confirmations.BOOKED)
    return appointment


def past_problems(slot: Slot, past_reason: str) -> list[str]:
    """A time that has already passed is booked only with a reason."""
    if slot.start < timezone.now() and not past_reason.strip():
        return ["that time has passed: give a reason to book it in the past"]
    return []


def _check_movable(appointment: Appointment, slot: Slot, past_reason: str) -> None:
    """A booked or confirmed appointment, to a slot that passes the booking checks."""
    if appointment.state not in (State.BOOKED, State.CONFIRMED):
        raise ScheduleConflict(
            [f"a {appointment.get_state_display().lower()} appointment cannot be moved"]
        )
    clinic = appointment.clinic
    _check_resources(clinic, slot)
    _lock(slot)
    _raise_if(
        [("past_reason", p) for p in past_problems(slot, past_reason)]
        + conflicts_by_field(
            clinic,
            slot,
            kind=appointment.kind,
            exclude=appointment.pk,
            route=route_of(appointment.plan),
        )
    )


@transaction.atomic
def reschedule(
    *,
    appointment: Appointment,
    slot: Slot,
    by: User,
    past_reason: str = "",
    request: HttpRequest | None = None,
) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_movable(appointment, slot, past_reason)
    before = appointment.start.isoformat()
    for name in ("staff", "room", "chair", "start", "end"):
        setattr(appointment, name, getattr(slot, name))
    appointment.save(update_fields=["staff", "room", "chair", "start", "end"])
    reminders.cancel_pending(appointment)
    reminders.create_for(appointment)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=appointment.clinic_id,
        patient_id=appointment.patient_id,
        obj=appointment,
        detail={"moved": [before, slot.start.isoformat()], "past_reason": past_reason.strip()},
    )
    confirmations.send(appointment, confirmations.MOVED)
    return appointment


TRANSITIONS = {
    State.CONFIRMED: {State.BOOKED},
    State.CHECKED_IN: {State.BOOKED, State.CONFIRMED},
    State.COMPLETED: {State.CHECKED_IN},
    State.NO_SHOW: {State.BOOKED, State.CONFIRMED},
    State.CANCELLED: {State.BOOKED, State.CONFIRMED},
}


@transaction.atomic
def set_state(
    *,
    appointment: Appointment,
    state: str,
    by: User | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Appointment:
    """Confirm, check in, complete, mark a no-show, or cancel (a reason is required)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    target = State(state)
    problems = state_problems(appointment, target, reason)
    if problems:
        raise ScheduleConflict(problems)
    previous = appointment.state
    appointment.state = target
    appointment.cancel_reason = reason.strip() if target == State.CANCELLED else ""
    appointment.save(update_fields=["state", "cancel_reason"])
    if target in (State.CANCELLED, State.NO_SHOW):
        reminders.cancel_pending(appointment)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=appointment.clinic_id,
        patient_id=appointment.patient_id,
        obj=appointment,
        detail={"state": [previous, target.value], "reason": appointment.cancel_reason},
    )
    if target == State.CANCELLED:
        confirmations.send(appointment, confirmations.CANCELLED)
    return appointment


def state_problems(appointment: Appointment, target: State, reason: str = "") -> list[str]:
    """Why `appointment` cannot go to `target` now; state changes follow the clock."""
    if appointment.state not in TRANSITIONS[target]:
        return [f"cannot go from {appointment.get_state_display()} to {target.label}"]
    if target == State.CANCELLED and not reason.strip():
        return ["a reason is required to cancel"]
    tz = clinic_tz(appointment.clinic)
    day = appointment.start.astimezone(tz).date()
    if target in (State.CHECKED_IN, State.COMPLETED) and day > today(appointment.clinic):
        verb = "checked in" if target == State.CHECKED_IN else "completed"
        return [f"this visit is on {day:%A %d %B %Y}: it cannot be {verb} before its day"]
    if target == State.NO_SHOW and appointment.start > timezone.now():
        return ["this visit has not started yet: it cannot be marked a no-show"]
    return []


# ---- a plan's whole schedule --------------------------------------------------------------


@dataclass(frozen=True)
class ProposedRow:
    kind: str
    phase: str
    number: int
    start: datetime
    end: datetime
    reason: str
    chair: Chair | None
    room: Room | None
    staff: User
    problems: tuple[str, ...] = ()

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)


def _free_place(
    clinic: Clinic, kind: str, start: datetime, end: datetime, route: str | None = None
) -> tuple[Chair | None, Room | None]:
    busy = Appointment.objects.filter(clinic=clinic).overlapping(start, end)
    if kind == Kind.DOSING:
        taken = set(busy.exclude(chair=None).values_list("chair_id", flat=True))
        free = Chair.objects.filter(clinic=clinic, is_active=True).exclude(pk__in=taken)
        chair = next((c for c in free if route is None or c.supports(route)), None)
        return chair, None
    taken = set(busy.exclude(room=None).values_list("room_id", flat=True))
    chaired = set(Chair.objects.filter(clinic=clinic).values_list("room_id", flat=True))
    room = (
        Room.objects.filter(clinic=clinic, is_active=True).exclude(pk__in=taken | chaired).first()
    )
    return None, room or Room.objects.filter(clinic=clinic, is_active=True).exclude(
        pk__in=taken
    ).first()


def _plan_busy(
    clinic: Clinic, staff: User, route: str | None
) -> Callable[[datetime, datetime], bool]:
    """Whether a dosing visit cannot go at a time: gone already, `staff` away or booked, the
    clinic closed, or no chair fit for `route` free."""
    now = timezone.now()

    def busy(start: datetime, end: datetime) -> bool:
        if start < now:  # a plan's visits are booked ahead, never into the hours already gone
            return True
        if _staff_conflicts(clinic, Slot(staff, start, end), None):
            return True
        if closures_during(clinic, start, end):
            return True
        return _free_place(clinic, Kind.DOSING, start, end, route)[0] is None

    return busy


def _proposed_rows(
    clinic: Clinic, staff: User, route: str | None, proposal: Iterable[ProposedAppointment]
) -> list[ProposedRow]:
    """Each proposed visit with a free chair or room and what still stands in its way."""
    rows = []
    for item in proposal:
        chair, room = _free_place(clinic, item.kind, item.start, item.end, route)
        slot = Slot(staff, item.start, item.end, room, chair)
        rows.append(
            ProposedRow(
                item.kind,
                item.phase,
                item.number,
                item.start,
                item.end,
                item.reason,
                chair,
                room,
                staff,
                tuple(conflicts(clinic, slot, kind=item.kind, route=route)),
            )
        )
    return rows


def propose_for_plan(*, plan: Plan, staff: User, start_on: date) -> list[ProposedRow]:
    """The plan's current version laid out into the clinic's hours, chairs and `staff`'s time."""
    version = plan.current_version()
    if version is None or plan.status != PlanStatus.ACTIVE:
        raise ScheduleError("only an active, signed plan can be scheduled")
    clinic = plan.clinic
    protocol = plan.protocol_version.protocol
    route = route_of(plan)
    open_ended = version.phase != "booster" and protocol.phase(version.phase).open_ended
    limit = version.doses.count() if open_ended or version.doses.exists() else None
    first = not plan.appointments.exists()
    proposal = propose_schedule(
        protocol,
        start=start_on,
        first_phase=version.phase,
        clinic_hours=clinic_hours(clinic),
        tz=clinic_tz(clinic),
        session_minutes=session_lengths(clinic),
        busy=_plan_busy(clinic, staff, route),
        max_doses=limit or None,
        include_preparation=first,
        slot_minutes=SLOT_MINUTES.value(clinic),
    )
    return _proposed_rows(clinic, staff, route, proposal)


@transaction.atomic
def book_plan_schedule(
    *,
    plan: Plan,
    rows: list[ProposedRow],
    by: User,
    notify: bool = True,
    request: HttpRequest | None = None,
) -> list[Appointment]:
    """Book every row, or none: any conflict refuses the whole schedule with its reasons."""
    version = plan.current_version()
    doses = list(version.doses.order_by("number")) if version else []
    booked, problems = [], []
    dose_index = 0
    for row in rows:
        planned = None
        if row.kind == Kind.DOSING and dose_index < len(doses):
            planned, dose_index = doses[dose_index], dose_index + 1
        slot = Slot(row.staff, row.start, row.end, row.room, row.chair)
        try:
            booked.append(
                book(
                    patient=plan.patient,
                    kind=row.kind,
                    slot=slot,
                    by=by,
                    plan=plan,
                    planned_dose=planned,
                    note=row.reason[:300],
                    notify=False,
                    request=request,
                )
            )
        except ScheduleConflict as exc:
            local = row.start.astimezone(clinic_tz(plan.clinic))
            problems.append(f"{row.kind} {row.number} on {local:%Y-%m-%d %H:%M}: {exc}")
    if problems:
        raise ScheduleConflict(problems)
    if notify and booked:
        confirmations.send_many(booked)
    return booked


def default_end(clinic: Clinic, kind: str, start: datetime) -> datetime:
    lengths = session_lengths(clinic)
    minutes = {
        Kind.DOSING: lengths.dosing,
        Kind.PREPARATION: lengths.preparation,
        Kind.INTEGRATION: lengths.integration,
    }.get(Kind(kind), VISIT_MINUTES.value(clinic))
    return start + timedelta(minutes=minutes)


def next_days(clinic: Clinic, day: date, days: int = 7) -> tuple[datetime, datetime]:
    tz = clinic_tz(clinic)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return start, start + timedelta(days=days)


def today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic_tz(clinic)).date()
