"""The one way staff pages fetch an appointment to change it."""

from __future__ import annotations

from katclinic.clinics.access import get_in_clinic
from katclinic.clinics.http import StaffRequest
from katclinic.scheduling.models import Appointment


def get_appointment_for_edit(request: StaffRequest, appointment_id: int) -> Appointment:
    """The active clinic's appointment, or a recorded denial answered as 404."""
    related = Appointment.objects.select_related("patient")
    return get_in_clinic(request, related, appointment_id, what="appointment")
