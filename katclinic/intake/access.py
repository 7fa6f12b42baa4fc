"""One access helper per kind of intake object; another clinic's object answers 404."""

from __future__ import annotations

from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.clinics.access import deny, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.intake.models import (
    ConsentDocument,
    ConsentSignature,
    ConsultationRequest,
    Screening,
)
from katclinic.patients.models import Patient


def get_request_for_user(request: HttpRequest, request_id: int) -> ConsultationRequest:
    clinic = require_perm(request, Perm.MANAGE_REQUESTS)
    found = ConsultationRequest.objects.filter(pk=request_id, clinic=clinic).first()
    if found is None:
        deny(request, reason="no such request in the active clinic", not_found=True)
    return found


def get_screening_for_user(
    request: HttpRequest, screening_id: int, perm: Perm = Perm.VIEW_CLINICAL
) -> Screening:
    """A screening of the active clinic, for a user holding `perm` (SCREEN to change it)."""
    clinic = require_perm(request, perm)
    found = (
        Screening.objects.filter(pk=screening_id, clinic=clinic).select_related("patient").first()
    )
    if found is None:
        deny(request, reason="no such screening in the active clinic", not_found=True)
    return found


def get_document_for_clinic(
    request: HttpRequest, document_id: int, clinic_id: int
) -> ConsentDocument:
    found = ConsentDocument.objects.filter(pk=document_id, clinic_id=clinic_id).first()
    if found is None:
        deny(request, reason="no such consent document in this clinic", not_found=True)
    return found


def get_signature_for_edit(request: HttpRequest, signature_id: int) -> ConsentSignature:
    clinic = require_perm(request, Perm.MANAGE_CONSENT)
    found = (
        ConsentSignature.objects.filter(pk=signature_id, clinic=clinic)
        .select_related("patient", "document")
        .first()
    )
    if found is None:
        deny(request, reason="no such signature in the active clinic", not_found=True)
    return found


def get_own_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The signed-in patient's own record: staff get 403, another patient's id 404."""
    user = request.user
    if not isinstance(user, User) or user.is_staff_member:
        deny(request, reason="a patient's own page", patient_id=patient_id)
    found = Patient.objects.filter(pk=patient_id, user=user).select_related("clinic").first()
    if found is None:
        deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
    return found
