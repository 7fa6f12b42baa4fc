"""Who may open a portal page: a patient, and only for their own record."""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.clinics.access import deny
from katclinic.patients.models import Patient
from katclinic.portal.models import AppointmentRequest, JournalEntry


def get_own_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The signed-in patient's own record: staff get 403, another patient's id 404 (recorded)."""
    user = request.user
    if not isinstance(user, User) or user.is_staff_member:
        deny(request, reason="a patient's own portal page", patient_id=patient_id)
    found = Patient.objects.select_related("clinic").filter(pk=patient_id, user=user).first()
    if found is None:
        deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
    return found


def get_own_journal_entry(request: HttpRequest, patient: Patient, entry_id: int) -> JournalEntry:
    entry = JournalEntry.objects.filter(pk=entry_id, patient=patient).first()
    if entry is None:
        deny(request, reason="not this patient's journal", patient_id=patient.pk, not_found=True)
    return entry


def get_appointment_request_for_staff(request: HttpRequest, request_id: int) -> AppointmentRequest:
    """A request of the active clinic (the caller has checked the permission), else 404."""
    found = (
        AppointmentRequest.objects.for_clinic(request.clinic)  # type: ignore[attr-defined]
        .select_related("patient")
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        deny(request, reason="no such request in the active clinic", not_found=True)
    return found
