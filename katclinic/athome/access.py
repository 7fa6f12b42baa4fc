"""One helper per kind of take-home record: a patient reaches only their own, staff only
their active clinic's; anything else is a recorded 404."""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.athome.models import HomeAlert, HomeSession, TakeHomePrescription
from katclinic.clinics.access import deny, get_in_clinic
from katclinic.patients.models import Patient


def get_own_session(request: HttpRequest, patient: Patient, session_id: int) -> HomeSession:
    found = (
        HomeSession.objects.filter(pk=session_id, patient=patient)
        .select_related("prescription__plan__protocol_version", "clinic")
        .first()
    )
    if found is None:
        deny(request, reason="not this patient's session", patient_id=patient.pk, not_found=True)
    return found


def get_prescription_for_staff(request: HttpRequest, prescription_id: int) -> TakeHomePrescription:
    """A prescription of the active clinic (the view's decorator checked the permission)."""
    related = TakeHomePrescription.objects.select_related("patient", "clinic")
    return get_in_clinic(request, related, prescription_id, what="prescription")


def get_alert_for_staff(request: HttpRequest, alert_id: int) -> HomeAlert:
    return get_in_clinic(request, HomeAlert.objects, alert_id, what="alert")
