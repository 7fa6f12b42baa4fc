"""One fetch per kind of insurance record: the active clinic's, or a recorded 404."""

from __future__ import annotations

from django.db import models

from katclinic.clinics.access import deny, require_perm
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.insurance.models import (
    AuthorizationDocument,
    Coverage,
    EligibilityCheck,
    PriorAuthorization,
)


def _get[M: models.Model](
    request: StaffRequest, model: type[M], pk: int, perm: Perm, what: str
) -> M:
    clinic = require_perm(request, perm)
    found = model._default_manager.filter(clinic=clinic, pk=pk).first()
    if found is None:
        deny(request, reason=f"no such {what} in the active clinic", not_found=True)
    return found


def get_coverage(request: StaffRequest, pk: int) -> Coverage:
    return _get(request, Coverage, pk, Perm.MANAGE_COVERAGE, "coverage")


def get_check(request: StaffRequest, pk: int) -> EligibilityCheck:
    return _get(request, EligibilityCheck, pk, Perm.MANAGE_COVERAGE, "eligibility check")


def get_authorization(request: StaffRequest, pk: int) -> PriorAuthorization:
    return _get(request, PriorAuthorization, pk, Perm.MANAGE_COVERAGE, "authorization")


def get_document(request: StaffRequest, pk: int) -> AuthorizationDocument:
    return _get(request, AuthorizationDocument, pk, Perm.MANAGE_COVERAGE, "document")
