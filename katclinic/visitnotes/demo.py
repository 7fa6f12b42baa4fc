"""Demo: the therapist's week of non-dosing visits, with a signed note, a draft and a note due."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.middleware import clinic_zone
from katclinic.demo.generator import DemoWorld
from katclinic.patients.models import Patient
from katclinic.scheduling import services as scheduling
from katclinic.scheduling.models import Appointment, Room, State
from katclinic.visitnotes import services

INTEGRATION = {
    "session_reviewed": "Last ketamine session, reviewed with the patient's own notes",
    "themes": "Grief and self-blame; a sense of distance from old patterns",
    "insights": "Noticed she can rest without earning it",
    "mood_safety": "Mood brighter; denies suicidal thoughts; safety plan reviewed",
    "plan": "Daily journaling; next integration visit in one week",
}
PREPARATION = {
    "intentions": "To feel less stuck; to be kinder to himself",
    "expectations": "Some strangeness and time distortion; may feel emotional",
    "set_and_setting": "Eye mask and music; therapist present; escort collects him",
    "safety_plan_reviewed": "yes",
    "questions": "Whether he can keep taking his evening medication",
}


def _weekdays_before(day: date, count: int) -> list[date]:
    found: list[date] = []
    while len(found) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            found.append(day)
    return found


def _past_visit(
    patient: Patient, kind: str, start: datetime, therapist: User, room: Room, by: User
) -> Appointment | None:
    """A visit booked after the fact and completed; None when the booking rules refuse it."""
    slot = scheduling.Slot(
        staff=therapist, start=start, end=start + timedelta(minutes=50), room=room
    )
    try:
        visit = scheduling.book(
            patient=patient,
            kind=kind,
            slot=slot,
            by=by,
            past_reason="Recorded after the visit for the demo's history",
            notify=False,
        )
        for state in (State.CHECKED_IN, State.COMPLETED):
            visit = scheduling.set_state(appointment=visit, state=state, by=therapist)
    except ValueError:
        return None  # the booking rules refused a past slot: the demo goes without it
    return visit


def _notes(made: list[Appointment], therapist: User) -> None:
    """A signed note for the first visit and a draft for the third; the second stays due."""
    if made:
        services.create_note(
            patient=made[0].patient,
            kind="integration",
            content=INTEGRATION,
            appointment=made[0],
            by=therapist,
            sign=True,
        )
    if len(made) > 2:
        services.create_note(
            patient=made[2].patient,
            kind="preparation",
            content=PREPARATION,
            appointment=made[2],
            by=therapist,
        )


def _later_today(
    patient: Patient, today: date, zone: tzinfo, therapist: User, room: Room, by: User
) -> None:
    """A visit later today, on the therapist's Today page."""
    if today.weekday() >= 5:
        return
    start = datetime.combine(today, time(16), tzinfo=zone)
    slot = scheduling.Slot(
        staff=therapist, start=start, end=start + timedelta(minutes=50), room=room
    )
    try:
        scheduling.book(patient=patient, kind="integration", slot=slot, by=by)
    except ValueError:
        pass


def build(world: DemoWorld) -> None:
    clinic = world.clinics[0]
    therapist = world.staff.get("therapist")
    room = Room.objects.filter(clinic=clinic, name="Consulting room 2").first()
    patients = [p for p in world.patients if p.clinic_id == clinic.pk][:3]
    if therapist is None or room is None or len(patients) < 3:
        return
    zone = clinic_zone(clinic.timezone)
    by = world.staff["frontdesk"]
    today = timezone.localtime(timezone=zone).date()
    visits = [
        (patients[0], "integration", day, time(hour))
        for day, hour in zip(_weekdays_before(today, 2), (10, 11), strict=True)
    ]
    visits.append((patients[1], "preparation", _weekdays_before(today, 1)[0], time(14)))
    made = []
    for patient, kind, day, at in visits:
        start = datetime.combine(day, at, tzinfo=zone)
        visit = _past_visit(patient, kind, start, therapist, room, by)
        if visit is not None:
            made.append(visit)
    _notes(made, therapist)
    _later_today(patients[2], today, zone, therapist, room, by)
