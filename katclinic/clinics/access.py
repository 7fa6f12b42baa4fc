"""Access decisions: one helper per kind of object, used by every view and API endpoint.

A staff user acts in one active clinic at a time (`request.clinic`), with the roles
they hold there (`request.roles`). A patient's portal account reaches only its own
record. Objects of another clinic answer 404, so their existence is not revealed.
Every denial is written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Manager, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from katclinic.audit import services as audit
from katclinic.audit.models import Action, Outcome
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm, roles_allow
from katclinic.patients.models import Patient

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def _storable_id(value: object) -> int | None:
    """A record id from the URL as the audit row can hold it (regex routes pass text)."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if abs(number) < 2**63 else None


def deny(
    request: HttpRequest,
    *,
    reason: str,
    patient_id: int | str | None = None,
    not_found: bool = False,
) -> NoReturn:
    """Record the denial and raise the matching error."""
    audit.record(
        request=request,
        action=Action.DENIED,
        patient_id=_storable_id(patient_id),
        object_type="url",
        object_id=request.path[:64],
        outcome=Outcome.DENIED,
        detail={"reason": reason, "method": request.method},
    )
    if not_found:
        raise Http404("Not found")
    raise PermissionDenied(reason)


def has_perm(request: HttpRequest, perm: Perm) -> bool:
    return roles_allow(getattr(request, "roles", frozenset()), perm)


def require_perm(request: HttpRequest, perm: Perm) -> Clinic:
    """The active clinic, if the user's roles there grant `perm`; else a recorded 403."""
    clinic = getattr(request, "clinic", None)
    if clinic is None or not has_perm(request, perm):
        deny(request, reason=f"needs permission: {perm.name}")
    return clinic


def get_in_clinic[M: Model](
    request: HttpRequest,
    rows: QuerySet[M] | Manager[M],
    pk: int,
    *,
    what: str,
    perm: Perm | None = None,
) -> M:
    """Row ``pk`` of ``rows`` in the active clinic, or a recorded 404 naming ``what``.

    With ``perm`` the user's roles there must grant it too (else a recorded 403); without
    it, the view's ``staff_view`` has checked the page's permission already.
    """
    clinic = require_perm(request, perm) if perm is not None else getattr(request, "clinic", None)
    found = None if clinic is None else rows.filter(clinic=clinic, pk=pk).first()
    if found is None:
        deny(request, reason=f"no such {what} in the active clinic", not_found=True)
    return found


def staff_view(perm: Perm) -> Callable[[ViewFunc], ViewFunc]:
    """Decorate a staff page: signed in, second factor passed, and holding `perm`."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect(f"/accounts/login/?next={request.path}")
            if not request.user.is_staff_member:
                deny(request, reason="staff page")
            if getattr(request, "clinic", None) is None:
                return redirect("clinics:choose")
            require_perm(request, perm)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def get_patient_for_user(
    request: HttpRequest, patient_id: int, perm: Perm = Perm.VIEW_DEMOGRAPHICS
) -> Patient:
    """A patient of the active clinic the user may see with `perm`, or 404/403 (recorded).

    A patient's own portal account may read its own record and nothing else.
    """
    user = request.user
    if user.is_authenticated and not user.is_staff_member:
        patient = Patient.objects.fetch(patient_id, user_id=user.pk)
        if patient is None or perm not in PATIENT_SELF_PERMS:
            deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
        return patient
    clinic = require_perm(request, perm)
    patient = Patient.objects.fetch(patient_id, clinic_id=clinic.pk)
    if patient is None:
        deny(
            request,
            reason="no such patient in the active clinic",
            patient_id=patient_id,
            not_found=True,
        )
    patient.clinic = clinic  # the active clinic, already read: `patient.clinic` costs no query
    return patient


def get_patient_for_edit(
    request: HttpRequest, patient_id: int, perm: Perm = Perm.EDIT_DEMOGRAPHICS
) -> Patient:
    """As `get_patient_for_user`, for writes: patients never write through staff pages."""
    if request.user.is_authenticated and not request.user.is_staff_member:
        deny(
            request,
            reason="patients cannot change the chart",
            patient_id=patient_id,
            not_found=True,
        )
    return get_patient_for_user(request, patient_id, perm)


# What a patient may read of their own record through the portal and API.
PATIENT_SELF_PERMS = frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.VIEW_CLINICAL})
