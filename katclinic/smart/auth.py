"""SMART access tokens on the FHIR facade: who the token acts as, and what it may read.

A token acts as the person who allowed the app, at the app's clinic. What it reads is the
intersection of that person's own access (their roles for staff; their own record for a
patient) and the granted scopes: a ``user/`` scope reads what the staff member may, a
``patient/`` scope only the record of the grant's patient.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone

from katclinic.clinics.access import deny
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.models import StaffMembership
from katclinic.fhir import providers  # noqa: F401 - providers fill the registry
from katclinic.fhir.registry import REGISTRY
from katclinic.smart.models import ACCESS_PREFIX, BackendToken, SmartToken, hash_secret
from katclinic.smart.scopes import Scopes, from_granted

LAST_USED_GRANULARITY = timedelta(minutes=1)


def served_types() -> list[str]:
    return sorted(REGISTRY)


def is_smart_token(raw: str) -> bool:
    return raw.startswith(ACCESS_PREFIX)


def _usable(raw: str) -> SmartToken | None:
    now = timezone.now()
    return (
        SmartToken.objects.select_related(
            "grant", "grant__app", "grant__user", "grant__patient", "clinic"
        )
        .filter(
            token_hash=hash_secret(raw),
            kind=SmartToken.Kind.ACCESS,
            revoked_at__isnull=True,
            expires_at__gt=now,
            grant__revoked_at__isnull=True,
            grant__app__disabled_at__isnull=True,
            grant__user__is_active=True,
        )
        .first()
    )


def authenticate_access(request: HttpRequest, raw: str) -> SmartToken | None:
    """Set request.user, .clinic, .roles and .smart for a usable SMART access token."""
    if len(raw) > 200:
        return None
    token = _usable(raw)
    if token is None:
        return None
    grant, user = token.grant, token.grant.user
    if user.is_staff_member:
        roles = frozenset(
            StaffMembership.objects.filter(
                user=user, clinic_id=token.clinic_id, is_active=True
            ).values_list("role", flat=True)
        )
    else:
        if grant.patient is None or grant.patient.user_id != user.pk:
            return None  # the record is no longer this person's
        roles = frozenset()
    request.user = user
    request.clinic = token.clinic  # type: ignore[attr-defined]
    request.roles = roles  # type: ignore[attr-defined]
    request.smart = token  # type: ignore[attr-defined]
    request.smart_scopes = from_granted(token.scopes, served_types())  # type: ignore[attr-defined]
    timezone.activate(clinic_zone(token.clinic.timezone))
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        SmartToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def smart_token(request: HttpRequest) -> SmartToken | None:
    return getattr(request, "smart", None)


def request_scopes(request: HttpRequest) -> Scopes:
    """The scopes of the request's SMART or backend-service token."""
    return cast(Scopes, request.smart_scopes)  # type: ignore[attr-defined]


def compartment_for(request: HttpRequest, type_name: str, action: str) -> int | None:
    """For a SMART request: the one patient it may read ``type_name`` of (None: every
    patient the staff member may see). A type outside the scopes is a recorded 403."""
    token = cast(SmartToken, smart_token(request))
    scopes: Scopes = request.smart_scopes  # type: ignore[attr-defined]
    level = scopes.level_for(type_name, action)
    if level is None:
        verb = "read" if action == "r" else "search"
        deny(request, reason=f"this app was not allowed to {verb} {type_name}")
    if level == "user" and request.user.is_staff_member:  # type: ignore[union-attr]
        return None
    patient_id = token.grant.patient_id
    if patient_id is None:
        deny(request, reason="this app's access names no patient")
    return patient_id


def audit_detail(request: HttpRequest) -> dict[str, Any]:
    """What a FHIR read's audit event says about the app that made it: a person's app and
    their grant, or the backend service (no person stands behind its token)."""
    service: BackendToken | None = getattr(request, "backend", None)
    if service is not None:
        return {
            "app": service.app.name,
            "client_id": service.app.client_id,
            "backend_token": service.pk,
        }
    token = smart_token(request)
    if token is None:
        return {}
    return {"app": token.grant.app.name, "grant": token.grant_id}
