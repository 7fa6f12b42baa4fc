"""One fetch per kind of insurance record: the active clinic's, or a recorded 404."""

from __future__ import annotations

from katclinic.clinics.access import get_in_clinic
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.insurance.models import (
    AuthorizationDocument,
    Coverage,
    EligibilityCheck,
    PriorAuthorization,
)

P = Perm.MANAGE_COVERAGE


def get_coverage(request: StaffRequest, pk: int) -> Coverage:
    return get_in_clinic(request, Coverage.objects, pk, what="coverage", perm=P)


def get_check(request: StaffRequest, pk: int) -> EligibilityCheck:
    return get_in_clinic(request, EligibilityCheck.objects, pk, what="eligibility check", perm=P)


def get_authorization(request: StaffRequest, pk: int) -> PriorAuthorization:
    return get_in_clinic(request, PriorAuthorization.objects, pk, what="authorization", perm=P)


def get_document(request: StaffRequest, pk: int) -> AuthorizationDocument:
    return get_in_clinic(request, AuthorizationDocument.objects, pk, what="document", perm=P)
