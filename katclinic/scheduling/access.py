"""The one way staff pages fetch an appointment to change it."""

from __future__ import annotations

from katclinic.clinics.access import deny
from katclinic.clinics.http import StaffRequest
from katclinic.scheduling.models import Appointment


def get_appointment_for_edit(request: StaffRequest, appointment_id: int) -> Appointment:
    """The active clinic's appointment, or a recorded denial answered as 404."""
    appointment = (
        Appointment.objects.filter(pk=appointment_id, clinic=request.clinic)
        .select_related("patient")
        .first()
    )
    if appointment is None:
        deny(request, reason="no such appointment in the active clinic", not_found=True)
    return appointment
