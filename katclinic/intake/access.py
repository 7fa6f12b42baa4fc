"""One access helper per kind of intake object; another clinic's object answers 404."""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.clinics.access import deny, get_in_clinic
from katclinic.clinics.permissions import Perm
from katclinic.intake.models import (
    ConsentDocument,
    ConsentSignature,
    ConsultationRequest,
    Screening,
)
from katclinic.patients.models import Patient


def get_request_for_user(request: HttpRequest, request_id: int) -> ConsultationRequest:
    rows = ConsultationRequest.objects
    return get_in_clinic(request, rows, request_id, what="request", perm=Perm.MANAGE_REQUESTS)


def get_screening_for_user(
    request: HttpRequest, screening_id: int, perm: Perm = Perm.VIEW_CLINICAL
) -> Screening:
    """A screening of the active clinic, for a user holding `perm` (SCREEN to change it)."""
    related = Screening.objects.select_related("patient")
    return get_in_clinic(request, related, screening_id, what="screening", perm=perm)


def get_document_for_clinic(
    request: HttpRequest, document_id: int, clinic_id: int
) -> ConsentDocument:
    found = ConsentDocument.objects.filter(pk=document_id, clinic_id=clinic_id).first()
    if found is None:
        deny(request, reason="no such consent document in this clinic", not_found=True)
    return found


def get_signature_for_edit(request: HttpRequest, signature_id: int) -> ConsentSignature:
    related = ConsentSignature.objects.select_related("patient", "document")
    return get_in_clinic(request, related, signature_id, what="signature", perm=Perm.MANAGE_CONSENT)


def get_own_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The signed-in patient's own record: staff get 403, another patient's id 404."""
    user = request.user
    if not isinstance(user, User) or user.is_staff_member:
        deny(request, reason="a patient's own page", patient_id=patient_id)
    found = Patient.objects.filter(pk=patient_id, user=user).select_related("clinic").first()
    if found is None:
        deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
    return found
