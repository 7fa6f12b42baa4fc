"""Demo: rooms, chairs and working hours; the demo plans booked into them; reminders."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.demo.generator import DemoWorld
from katclinic.protocols.models import Plan, PlanStatus
from katclinic.protocols.scheduling import ScheduleError
from katclinic.scheduling import services
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import (
    Chair,
    Kind,
    Reminder,
    ReminderState,
    Room,
    StaffAvailability,
)


def _resources(clinic: Clinic) -> None:
    treatment = Room.objects.create(clinic=clinic, name="Treatment room")
    for number in (1, 2, 3):
        Chair.objects.create(clinic=clinic, room=treatment, name=f"Chair {number}")
    Room.objects.create(clinic=clinic, name="Consulting room 1")
    Room.objects.create(clinic=clinic, name="Consulting room 2")


def _hours(world: DemoWorld, clinic: Clinic) -> None:
    keys = (
        ["prescriber", "nurse", "therapist", "director"]
        if clinic == world.clinics[0]
        else ["prescriber", "director"]
    )
    rows = [
        StaffAvailability(
            clinic=clinic, staff=world.staff[key], weekday=day, starts=time(8), ends=time(18)
        )
        for key in keys
        for day in range(5)
    ]
    StaffAvailability.objects.bulk_create(rows)


def _today(world: DemoWorld) -> None:
    """A few visits today, so each person's Today page and the calendar have a day to show."""
    clinic = world.clinics[0]
    tz = clinic_tz(clinic)
    day = services.today(clinic)
    visits = [("therapist", Kind.INTEGRATION, 10), ("prescriber", Kind.FOLLOW_UP, 13)]
    others = [p for p in world.patients if p.clinic_id == clinic.pk][2:4]
    for (key, kind, hour), patient in zip(visits, others, strict=False):
        start = datetime.combine(day, time(hour), tzinfo=tz)
        _, room = services._free_place(clinic, kind, start, start + timedelta(hours=1))
        slot = services.Slot(
            world.staff[key], start, services.default_end(clinic, kind, start), room
        )
        try:
            services.book(
                patient=patient,
                kind=kind,
                slot=slot,
                by=world.staff["frontdesk"],
                past_reason="Entered after the visit",
                notify=False,
            )
        except services.ScheduleConflict:
            continue


# The active plan (in creation order) whose visits the demo leaves unbooked, so the calendar
# offers "Book the plan's visits from this week" for its patient (Samir Schmidt with the
# demo's seed; scheduling/tests/test_plan_booking_browser.py books it).
UNBOOKED_PLAN = 3


def build(world: DemoWorld) -> None:
    for clinic in world.clinics:
        _resources(clinic)
        _hours(world, clinic)
    _today(world)
    by = world.staff["frontdesk"]
    start_on = timezone.localdate() + timedelta(days=1)
    plans = Plan.objects.filter(clinic=world.clinics[0], status=PlanStatus.ACTIVE).order_by("pk")
    for index, plan in enumerate(plans):
        if index == UNBOOKED_PLAN:
            continue  # left for front desk to book from the calendar, whatever today's date
        try:
            rows = services.propose_for_plan(
                plan=plan, staff=world.staff["prescriber"], start_on=start_on
            )
            services.book_plan_schedule(plan=plan, rows=rows, by=by, notify=False)
        except (ScheduleError, services.ScheduleConflict):
            continue
    # One reminder the SMS/email provider refused, so front desk has something to follow up.
    reminder = (
        Reminder.objects.filter(clinic=world.clinics[0], state=ReminderState.PENDING)
        .order_by("send_at")
        .first()
    )
    if reminder is not None:
        reminder.state, reminder.attempts = ReminderState.FAILED, 4
        reminder.last_error = "SMTPRecipientsRefused: mailbox unavailable"
        reminder.save(update_fields=["state", "attempts", "last_error"])
