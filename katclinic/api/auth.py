"""Bearer-token authentication for the JSON API and the FHIR facade."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Concatenate

from django.http import HttpRequest
from django.utils import timezone
from ninja.operation import Operation
from ninja.security import HttpBearer
from ninja.utils import contribute_operation_callback

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope, hash_token
from katclinic.clinics.access import deny
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.lib import rows
from katclinic.patients.models import Patient

LAST_USED_GRANULARITY = timedelta(minutes=1)


def usable_token(raw: str) -> tuple[ApiToken, frozenset[str]] | None:
    """The token for ``raw`` with its user and clinic, if it is unrevoked, unexpired and its
    user active (``ApiToken.objects.usable()``), and the roles its user actively holds at
    its clinic (``StaffMembership.objects.active()``).

    One plain query, as every API request asks it (see katclinic.lib.rows): the token
    row comes back once per role held, or once with no role.
    """
    sql = (
        f"SELECT m.role, {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, {rows.columns(Clinic, 'c')} "  # noqa: S608
        f"FROM {rows.table(ApiToken)} t JOIN {rows.table(User)} u ON u.id = t.user_id "
        f"JOIN {rows.table(Clinic)} c ON c.id = t.clinic_id "
        f"LEFT JOIN {rows.table(StaffMembership)} m "
        "ON m.user_id = t.user_id AND m.clinic_id = t.clinic_id AND m.is_active "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active "
        "AND (t.expires_at IS NULL OR t.expires_at > %s)"
    )
    found = rows.fetch_all(ApiToken, sql, [hash_token(raw), rows.now_param(ApiToken)])
    if not found:
        return None
    row = found[0]
    token = rows.hydrate(ApiToken, row, 1)
    token.user = rows.hydrate(User, row, 1 + rows.width(ApiToken))
    token.clinic = rows.hydrate(Clinic, row, 1 + rows.width(ApiToken) + rows.width(User))
    return token, frozenset(role for role, *_ in found if role is not None)


def authenticate_token(request: HttpRequest, raw: str) -> ApiToken | None:
    """Find a usable token and set request.user, .clinic and .roles as the web does."""
    if not raw or len(raw) > 200:
        return None
    found = usable_token(raw)
    if found is None:
        return None
    token, roles = found
    if not token.user.is_staff_member and not _is_own_clinic(token):
        # A patient's token works only at the clinic that holds their record: one issued
        # for another clinic would read the record and audit it in the wrong chain.
        return None
    request.user = token.user
    request.clinic = token.clinic  # type: ignore[attr-defined]
    request.api_token = token  # type: ignore[attr-defined]
    # Only staff act through roles; a patient's token reaches their own record alone.
    request.roles = roles if token.user.is_staff_member else frozenset()  # type: ignore[attr-defined]
    # API and FHIR requests run in the token's clinic's time zone, as its pages do.
    timezone.activate(clinic_zone(token.clinic.timezone))
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _is_own_clinic(token: ApiToken) -> bool:
    return Patient.objects.filter(user_id=token.user_id, clinic_id=token.clinic_id).exists()


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return authenticate_token(request, token)


def require_scope(request: HttpRequest, scope: Scope) -> None:
    """Refuse (403, recorded) unless the request's token carries `scope`."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is None or not token.allows(scope):
        deny(request, reason=f"token lacks scope {scope.value}")


def requires[**P, R](
    scope: Scope,
) -> Callable[[Callable[Concatenate[HttpRequest, P], R]], Callable[Concatenate[HttpRequest, P], R]]:
    """Declare an API operation's scope: the call is refused without it (`require_scope`),
    and the OpenAPI names it as the operation's `x-scope`.

    Goes directly under the route decorator. The wrapper keeps the view's name, docs and
    signature (its annotations resolved in the view's own module), so django-ninja reads
    the same parameters as from the view itself."""

    def declare(
        view: Callable[Concatenate[HttpRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R]:
        @functools.wraps(view)
        def scoped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            require_scope(request, scope)
            return view(request, *args, **kwargs)

        scoped.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        contribute_operation_callback(scoped, functools.partial(_name_scope, scope))
        return scoped

    return declare


def _name_scope(scope: Scope, operation: Operation) -> None:
    operation.openapi_extra = {**(operation.openapi_extra or {}), "x-scope": scope.value}
