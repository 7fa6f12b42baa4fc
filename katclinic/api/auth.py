"""Bearer-token authentication for the JSON API and the FHIR facade."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from katclinic.api.models import ApiToken, Scope, hash_token
from katclinic.clinics.access import deny
from katclinic.clinics.models import StaffMembership

LAST_USED_GRANULARITY = timedelta(minutes=1)


def authenticate_token(request: HttpRequest, raw: str) -> ApiToken | None:
    """Find a usable token and set request.user, .clinic and .roles as the web does."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user", "clinic")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if token is None:
        return None
    request.user = token.user
    request.clinic = token.clinic  # type: ignore[attr-defined]
    request.api_token = token  # type: ignore[attr-defined]
    roles: frozenset[str] = frozenset()
    if token.user.is_staff_member:
        roles = frozenset(
            StaffMembership.objects.active()
            .filter(user=token.user, clinic=token.clinic)
            .values_list("role", flat=True)
        )
    request.roles = roles  # type: ignore[attr-defined]
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return authenticate_token(request, token)


def require_scope(request: HttpRequest, scope: Scope) -> None:
    """Refuse (403, recorded) unless the request's token carries `scope`."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is None or not token.allows(scope):
        deny(request, reason=f"token lacks scope {scope.value}")
