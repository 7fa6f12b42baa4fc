"""A clinic's opening hours, time zone and session lengths, in the shape the planner takes."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import all_settings
from katclinic.protocols.scheduling import ClinicHours, SessionLengths
from katclinic.scheduling import clinic_settings as S

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def clinic_hours(clinic: Clinic) -> ClinicHours:
    """`Clinic.opening_hours` ({"mon": ["08:00", "18:00"], ...}) as {weekday: (open, close)}."""
    hours = {}
    for index, name in enumerate(WEEKDAYS):
        span = (clinic.opening_hours or {}).get(name)
        if span and len(span) == 2:
            hours[index] = (time.fromisoformat(span[0]), time.fromisoformat(span[1]))
    return hours


def clinic_tz(clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(clinic.timezone)


def as_clinic_time(clinic: Clinic, moment: datetime) -> datetime:
    """A time typed into a form is the clinic's local time, whatever zone the form assumed."""
    naive = timezone.make_naive(moment) if timezone.is_aware(moment) else moment
    return naive.replace(tzinfo=clinic_tz(clinic))


def session_lengths(clinic: Clinic) -> SessionLengths:
    values = all_settings(clinic)
    return SessionLengths(
        preparation=values[S.PREPARATION_MINUTES],
        dosing=values[S.DOSING_MINUTES],
        integration=values[S.INTEGRATION_MINUTES],
    )
