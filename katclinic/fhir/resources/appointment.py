"""Appointment -> FHIR Appointment (R4; identical in R4B for these elements).

The kind of visit is the appointment type (local code system, with its label); the
staff member appears by name only, since the facade serves no Practitioner resource.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.scheduling.models import Appointment

KIND_SYSTEM = "urn:katclinic:appointment-kind"
# KAT Clinic state -> FHIR AppointmentStatus (a confirmed booking is still "booked").
STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def to_fhir_appointment(appointment: Appointment) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": STATUS[appointment.state],
        "appointmentType": {
            "coding": [
                {
                    "system": KIND_SYSTEM,
                    "code": appointment.kind,
                    "display": appointment.get_kind_display(),
                }
            ],
            "text": appointment.get_kind_display(),
        },
        "start": utc(appointment.start),
        "end": utc(appointment.end),
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"},
            {"actor": {"display": appointment.staff.full_name}, "status": "accepted"},
        ],
    }
    if appointment.note:
        resource["description"] = appointment.note
    if appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason}
    return resource
