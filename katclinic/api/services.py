"""Issuing and revoking API tokens: each one audited, the secret shown once, stored hashed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic


class TokenRefused(ValueError):
    """A token request that cannot be granted; the message starts with the field it names."""


def issue_token(
    *,
    user: User,
    clinic: Clinic,
    name: str,
    scopes: list[str],
    days: int | None,
    by: User | None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token acting as `user` at `clinic`; returns the row and the secret (shown once).

    `days` is the lifetime (1 to API_TOKEN_MAX_DAYS; None: the default lifetime)."""
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise TokenRefused("name: give the token a name of 1 to 100 characters")
    unknown = sorted(set(scopes) - set(Scope.values))
    if not scopes or unknown:
        raise TokenRefused("scopes: choose at least one of the listed scopes")
    lifetime = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= lifetime <= settings.API_TOKEN_MAX_DAYS:
        raise TokenRefused(f"days: must be between 1 and {settings.API_TOKEN_MAX_DAYS}")
    with transaction.atomic():
        token, raw = ApiToken.issue(
            user=user,
            clinic=clinic,
            name=name,
            scopes=scopes,
            expires_at=timezone.now() + timedelta(days=lifetime),
        )
        audit.record(
            request=request,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            user=by,
            object_type="api.token",
            object_id=str(token.pk),
            detail={
                "event": "token issued",
                "for": user.email,
                "scopes": token.scopes,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
        )
    return token, raw


def revoke_token(*, token: ApiToken, by: User | None, request: HttpRequest | None = None) -> bool:
    """Revoke `token` now; False if it was already revoked (nothing changes then)."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if changed:
            audit.record(
                request=request,
                action=Action.SECURITY,
                clinic_id=token.clinic_id,
                user=by,
                object_type="api.token",
                object_id=str(token.pk),
                detail={"event": "token revoked", "for": token.user.email, "name": token.name},
            )
    token.refresh_from_db()
    return bool(changed)


def tokens_visible_to(*, user: User, clinic: Clinic, is_admin: bool) -> QuerySet[ApiToken]:
    """A person's own tokens at `clinic`; an admin sees every token of the clinic."""
    rows = ApiToken.objects.filter(clinic=clinic).select_related("user")
    return (rows if is_admin else rows.filter(user=user)).order_by("-created_at", "-pk")
