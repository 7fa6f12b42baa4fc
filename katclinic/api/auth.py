"""Bearer-token authentication for the JSON API and the FHIR facade."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope, hash_token
from katclinic.clinics.access import deny
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.lib import rows

LAST_USED_GRANULARITY = timedelta(minutes=1)


def usable_token(raw: str) -> ApiToken | None:
    """The token for ``raw`` with its user and clinic, if it is unrevoked, unexpired and its
    user active: ``ApiToken.objects.usable()`` in one plain query (this runs on every API
    request; see katclinic.lib.rows)."""
    sql = (
        f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, {rows.columns(Clinic, 'c')} "  # noqa: S608
        f"FROM {rows.table(ApiToken)} t JOIN {rows.table(User)} u ON u.id = t.user_id "
        f"JOIN {rows.table(Clinic)} c ON c.id = t.clinic_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active "
        "AND (t.expires_at IS NULL OR t.expires_at > %s)"
    )
    row = rows.fetch_one(ApiToken, sql, [hash_token(raw), rows.now_param(ApiToken)])
    if row is None:
        return None
    token = rows.hydrate(ApiToken, row)
    token.user = rows.hydrate(User, row, rows.width(ApiToken))
    token.clinic = rows.hydrate(Clinic, row, rows.width(ApiToken) + rows.width(User))
    return token


def active_roles(user: User, clinic: Clinic) -> frozenset[str]:
    """``StaffMembership.objects.active()`` roles of ``user`` at ``clinic`` (user known active)."""
    sql = f"SELECT role FROM {rows.table(StaffMembership)} WHERE user_id = %s AND clinic_id = %s AND is_active"  # noqa: S608
    with rows.connection_for(StaffMembership).cursor() as cursor:
        cursor.execute(sql, [user.pk, clinic.pk])
        return frozenset(role for (role,) in cursor.fetchall())


def authenticate_token(request: HttpRequest, raw: str) -> ApiToken | None:
    """Find a usable token and set request.user, .clinic and .roles as the web does."""
    if not raw or len(raw) > 200:
        return None
    token = usable_token(raw)
    if token is None:
        return None
    request.user = token.user
    request.clinic = token.clinic  # type: ignore[attr-defined]
    request.api_token = token  # type: ignore[attr-defined]
    roles: frozenset[str] = frozenset()
    if token.user.is_staff_member:
        roles = active_roles(token.user, token.clinic)
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
