"""A clinician's own day and note queue: today's visits, and past visits without a signed note."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import roles_allow
from katclinic.scheduling.models import Appointment, AppointmentQuerySet, State
from katclinic.visitnotes.kinds import FOR_APPOINTMENT_KIND, TEMPLATES
from katclinic.visitnotes.models import Status

# A visit that happened: the patient came (a checked-in visit counts, it may not be closed yet).
HAPPENED = (State.CHECKED_IN, State.COMPLETED)
CANCELLED = (State.CANCELLED, State.NO_SHOW)


def writable_visit_kinds(roles: frozenset[str]) -> list[str]:
    """The kinds of visit whose note these roles may write."""
    return [
        visit
        for visit, note in FOR_APPOINTMENT_KIND.items()
        if roles_allow(roles, TEMPLATES[note].perm)
    ]


def today_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of the current day in the active (clinic) time zone."""
    local = timezone.localtime(now or timezone.now())
    start = datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)
    return start, start + timedelta(days=1)


def visits_today(clinic: Clinic, user: User) -> AppointmentQuerySet:
    start, end = today_bounds()
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(staff=user, start__gte=start, start__lt=end)
        .exclude(state__in=CANCELLED)
        .select_related("patient", "room", "chair__room")
        .order_by("start", "pk")
    )


def notes_due(clinic: Clinic, user: User, roles: frozenset[str]) -> AppointmentQuerySet:
    """This person's visits that happened and have no signed note yet, oldest first."""
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(
            staff=user,
            state__in=HAPPENED,
            start__lt=timezone.now(),
            kind__in=writable_visit_kinds(roles),
        )
        .exclude(visit_notes__status=Status.SIGNED)
        .select_related("patient")
        .order_by("start", "pk")
    )
