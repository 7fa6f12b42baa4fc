"""Who reads what through the facade: bearer tokens, scopes and the Patient compartment.

Staff tokens read their clinic's rows when their roles there grant the type's
permission; another clinic's record answers 404. A patient's token reads only its own
compartment, and a search must name it (``patient=Patient/<id>``, or ``_id`` for
Patient) so that a patient app never mistakes an empty page for a full one.

A backend service's token (SMART Backend Services) reads and searches every record of
the clinic that registered it, for the types its ``system/`` scopes name (another type
is a recorded 403, another clinic's record a 404). It never writes: the scopes granted
to services hold no create or update permission, so every write route refuses it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.api.auth import authenticate_token, require_scope
from katclinic.api.models import Scope
from katclinic.clinics.access import deny, get_patient_for_user, has_perm
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.outcome import FhirError
from katclinic.fhir.registry import REGISTRY, ResourceType, Rows
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.patients.models import Patient
from katclinic.smart import auth as smart_auth
from katclinic.smart.backend import authenticate_backend, backend_token, is_backend_token


def authenticate(request: HttpRequest, scope: Scope) -> None:
    """Accept only a usable bearer token carrying ``scope``: 401 without one, 403 (recorded) without the scope.

    A SMART app's token reads only (its scopes are checked per type as it reads)."""
    header = request.headers.get("Authorization", "")
    kind, _, raw = header.partition(" ")
    raw = raw.strip()
    if kind.lower() == "bearer" and is_backend_token(raw):
        if authenticate_backend(request, raw) is None:
            raise FhirError.simple(401, "a valid bearer token is required", "login")
        if scope != Scope.FHIR_READ:
            deny(request, reason="a backend service may only read")
        return
    if kind.lower() == "bearer" and smart_auth.is_smart_token(raw):
        if smart_auth.authenticate_access(request, raw) is None:
            raise FhirError.simple(401, "a valid bearer token is required", "login")
        if scope != Scope.FHIR_READ:
            deny(request, reason="apps connected with SMART may only read")
        return
    if kind.lower() != "bearer" or authenticate_token(request, raw) is None:
        raise FhirError.simple(401, "a valid bearer token is required", "login")
    require_scope(request, scope)


def is_patient(request: HttpRequest) -> bool:
    """A patient's own token (a backend service acts for no person, and is no patient)."""
    if backend_token(request) is not None:
        return False
    return not getattr(request.user, "is_staff_member", False)


def _system_rows(request: HttpRequest, resource_type: ResourceType, action: str) -> Rows:
    """A backend service reads the whole clinic, for the types its scopes name."""
    scopes = smart_auth.request_scopes(request)
    if scopes.level_for(resource_type.name, action) != "system":
        verb = "read" if action == "r" else "search"
        deny(request, reason=f"this service was not allowed to {verb} {resource_type.name}")
    return resource_type.rows(request.clinic)  # type: ignore[attr-defined]


def own_patient(request: HttpRequest) -> Patient:
    """The record of a patient token's user, in the token's clinic."""
    clinic = request.clinic  # type: ignore[attr-defined]
    patient = Patient.objects.filter(user=cast(User, request.user), clinic=clinic).first()
    if patient is None:
        deny(request, reason="this account has no patient record here", not_found=True)
    return patient


def may_read_type(request: HttpRequest, resource_type: ResourceType) -> bool:
    """Whether the caller may read ``resource_type`` at all: definitions are open to every
    token of the clinic, patients read their own compartment (whatever its type), and
    staff need the type's permission in their roles. ``readable_rows`` and ``readable_row``
    enforce this with a recorded 403; ``$everything`` leaves out the types it refuses.
    A backend service reads the types its system/ scopes name."""
    if backend_token(request) is not None:
        scopes = smart_auth.request_scopes(request)
        return scopes.level_for(resource_type.name, "r") == "system"
    if resource_type.perm is None or is_patient(request):
        return True
    return has_perm(request, resource_type.perm)


def _staff_clinic(request: HttpRequest, resource_type: ResourceType) -> Clinic:
    """The clinic whose rows of the type a staff member reads, or a recorded 403."""
    clinic = getattr(request, "clinic", None)
    if clinic is None or not may_read_type(request, resource_type):
        perm = resource_type.perm
        deny(request, reason=f"needs permission: {perm.name if perm else resource_type.name}")
    return cast(Clinic, clinic)


def readable_rows(
    request: HttpRequest, resource_type: ResourceType, named: Collection[int]
) -> Rows:
    """The rows a search may see; ``named`` are the patients the search itself names."""
    if backend_token(request) is not None:
        return _system_rows(request, resource_type, "s")
    if smart_auth.smart_token(request) is not None:
        return _smart_rows(request, resource_type, named, "s")
    if resource_type.perm is None:
        return resource_type.rows(request.clinic)  # type: ignore[attr-defined]
    if not is_patient(request):
        return resource_type.rows(_staff_clinic(request, resource_type))
    patient = own_patient(request)
    if not named:
        deny(request, reason="a patient token must name its own record (patient=Patient/<id>)")
    if set(named) != {patient.pk}:
        deny(request, reason="not this patient's record", patient_id=min(named), not_found=True)
    return in_compartment(resource_type, resource_type.rows(patient.clinic), patient.pk)


def _smart_rows(
    request: HttpRequest, resource_type: ResourceType, named: Collection[int], action: str
) -> Rows:
    """What a SMART token may read of the type: its scopes, then the person's own access."""
    patient_id = smart_auth.compartment_for(request, resource_type.name, action)
    if resource_type.perm is None:
        return resource_type.rows(request.clinic)  # type: ignore[attr-defined]
    if patient_id is None:  # a staff member's user/ scope: their roles decide
        return resource_type.rows(_staff_clinic(request, resource_type))
    if named and set(named) != {patient_id}:
        deny(request, reason="not this app's patient", patient_id=min(named), not_found=True)
    if not is_patient(request):
        _staff_clinic(request, resource_type)
    clinic = request.clinic  # type: ignore[attr-defined]
    return in_compartment(resource_type, resource_type.rows(clinic), patient_id)


def everything_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The patient whose $everything is asked, if the caller may read their whole record."""
    check_everything(request, patient_id)
    if backend_token(request) is None:
        return get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    clinic = request.clinic  # type: ignore[attr-defined]
    patient = Patient.objects.fetch(patient_id, clinic_id=clinic.pk)
    if patient is None:
        deny(
            request,
            reason="no such patient at this service's clinic",
            patient_id=patient_id,
            not_found=True,
        )
    return patient


def check_everything(request: HttpRequest, patient_id: int) -> None:
    """A SMART token asks $everything only with every compartment type in its scopes, and
    only for its own patient when its scopes are patient/ ones; a backend service's
    scopes must name every compartment type too."""
    if backend_token(request) is not None:
        for resource_type in REGISTRY.values():
            if resource_type.patient_field is not None or resource_type.name == "Patient":
                _system_rows(request, resource_type, "r")
        return
    if smart_auth.smart_token(request) is None:
        return
    for resource_type in REGISTRY.values():
        if resource_type.patient_field is None and resource_type.name != "Patient":
            continue
        allowed = smart_auth.compartment_for(request, resource_type.name, "r")
        if allowed is not None and allowed != patient_id:
            deny(request, reason="not this app's patient", patient_id=patient_id, not_found=True)


def in_compartment(resource_type: ResourceType, rows: Rows, patient_id: int) -> Rows:
    """The rows of the patient's compartment; none for a type outside it (a Group names
    other patients, so a patient's own access never reaches one)."""
    if resource_type.patient_field is None:
        return rows.none()
    return rows.filter(**{resource_type.patient_field: patient_id})


def readable_row(request: HttpRequest, resource_type: ResourceType, raw_id: str) -> Any:
    """One row the caller may read, or a recorded 404 (403 when the role lacks the permission)."""
    if backend_token(request) is not None:
        rows = _system_rows(request, resource_type, "r")
    elif smart_auth.smart_token(request) is not None:
        rows = _smart_rows(request, resource_type, (), "r")
    elif resource_type.perm is None:
        row = resource_type.lookup(resource_type.rows(request.clinic), raw_id)  # type: ignore[attr-defined]
        if row is None:
            raise FhirError.simple(404, f"{resource_type.name}/{raw_id} is not known", "not-found")
        return row
    elif is_patient(request):
        patient = own_patient(request)
        rows = in_compartment(resource_type, resource_type.rows(patient.clinic), patient.pk)
    else:
        rows = resource_type.rows(_staff_clinic(request, resource_type))
    row = resource_type.lookup(rows, raw_id)
    if row is None:
        deny(
            request,
            reason=f"no such {resource_type.name} for this token",
            patient_id=_asked_patient(request, resource_type, raw_id),
            not_found=True,
        )
    return row


def _asked_patient(request: HttpRequest, resource_type: ResourceType, raw_id: str) -> int | None:
    """Whose record a refused read asked for, so the denial names them where it can."""
    if resource_type.name == "Patient":
        try:
            return parse_id(raw_id, "id")
        except BadParameter:
            return None
    row = resource_type.lookup(resource_type.rows(request.clinic), raw_id)  # type: ignore[attr-defined]
    return None if row is None else resource_type.patient_of(row)
