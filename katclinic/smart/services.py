"""Registering apps, granting them access and issuing their tokens: each step audited.

Codes and tokens are stored hashed. A code is used once and only with the verifier of its
PKCE challenge; a refresh token is used once and replaced (rotation), and a code or
refresh token presented twice revokes the whole grant (RFC 6749 section 4.1.2, RFC 9700
section 4.14.2).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.smart import idtoken
from katclinic.smart.launch import spend_launch
from katclinic.smart.models import (
    ACCESS_PREFIX,
    REFRESH_PREFIX,
    AuthorizationCode,
    BackendToken,
    EhrLaunch,
    SmartApp,
    SmartGrant,
    SmartToken,
    hash_secret,
    new_secret,
    origin_of,
)
from katclinic.smart.oauth import OAuthError, pkce_matches, redirect_uri_problem
from katclinic.smart.scopes import OFFLINE, OPENID, Scopes, from_granted


class AppRefused(ValueError):
    """A registration that cannot be saved; the message starts with the field it names."""


@dataclass(frozen=True)
class Issued:
    """What the token endpoint answers."""

    access_token: str
    expires_in: int
    scopes: list[str]
    patient_id: int | None
    refresh_token: str | None
    id_token: str | None = None

    def answer(self) -> dict[str, str | int | bool]:
        body: dict[str, str | int | bool] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(self.scopes),
        }
        if self.patient_id is not None:
            body["patient"] = str(self.patient_id)
            body["need_patient_banner"] = True
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        return body


def _record(
    request: HttpRequest | None,
    grant_or_app: SmartApp | SmartGrant,
    by: User | None,
    **detail: object,
) -> None:
    is_app = isinstance(grant_or_app, SmartApp)
    audit.record(
        request=request,
        action=Action.SECURITY,
        clinic_id=grant_or_app.clinic_id,
        patient_id=grant_or_app.patient_id if isinstance(grant_or_app, SmartGrant) else None,
        user=by,
        object_type="smart.app" if is_app else "smart.grant",
        object_id=str(grant_or_app.pk),
        detail=detail,
    )


def _clean_uris(lines: list[str], field: str) -> list[str]:
    uris = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not uris or len(uris) > 10:
        raise AppRefused(f"{field}: give 1 to 10 addresses, one a line")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem is not None:
            raise AppRefused(f"{field}: {uri[:80]} {problem}")
    return uris


def clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise AppRefused("name: give the app a name of 1 to 100 characters")
    return name


def record_app_event(
    request: HttpRequest | None, app: SmartApp, by: User | None, **detail: object
) -> None:
    _record(request, app, by, **detail)


def register_app(
    *,
    clinic: Clinic,
    name: str,
    redirect_uris: list[str],
    origins: list[str],
    confidential: bool,
    by: User | None,
    launch_url: str = "",
    request: HttpRequest | None = None,
) -> tuple[SmartApp, str]:
    """A new app of ``clinic``; returns it and its client secret (confidential apps only),
    shown once. Browser origins default to those of the redirect addresses; an app with
    a ``launch_url`` may be opened from a patient's chart (EHR launch)."""
    name = clean_name(name)
    uris = _clean_uris(redirect_uris, "redirect_uris")
    launch_url = _clean_uris([launch_url], "launch_url")[0] if launch_url.strip() else ""
    allowed = [origin_of(u) for u in _clean_uris(origins, "origins")] if origins else []
    secret = new_secret("smarts_") if confidential else ""
    with transaction.atomic():
        app = SmartApp.objects.create(
            clinic=clinic,
            name=name,
            client_id=new_secret()[:32].replace("-", "x").replace("_", "y"),
            confidential=confidential,
            secret_hash=hash_secret(secret) if secret else "",
            redirect_uris=uris,
            origins=sorted(set(allowed or [origin_of(u) for u in uris])),
            launch_url=launch_url,
            created_by=by,
        )
        _record(request, app, by, event="SMART app registered", name=name, kind=app.kind)
    return app, secret


def disable_app(*, app: SmartApp, by: User | None, request: HttpRequest | None = None) -> bool:
    """Stop ``app``: its grants and tokens are revoked. False if it was already stopped."""
    now = timezone.now()
    with transaction.atomic():
        changed = SmartApp.objects.filter(pk=app.pk, disabled_at__isnull=True).update(
            disabled_at=now
        )
        if changed:
            BackendToken.objects.filter(app=app, revoked_at__isnull=True).update(revoked_at=now)
            grants = SmartGrant.objects.filter(app=app, revoked_at__isnull=True)
            SmartToken.objects.filter(grant__in=grants, revoked_at__isnull=True).update(
                revoked_at=now
            )
            grants.update(revoked_at=now)
            _record(request, app, by, event="SMART app disabled", name=app.name)
    app.refresh_from_db()
    return bool(changed)


def authorize(
    *,
    app: SmartApp,
    user: User,
    patient: Patient | None,
    scopes: Scopes,
    redirect_uri: str,
    code_challenge: str,
    nonce: str = "",
    launch: EhrLaunch | None = None,
    request: HttpRequest | None = None,
) -> tuple[SmartGrant, str]:
    """Record that ``user`` allowed ``app`` ``scopes`` (for ``patient``); returns the code.

    An EHR ``launch`` is spent here (OAuthError if it was spent already)."""
    raw = new_secret()
    with transaction.atomic():
        if launch is not None:
            spend_launch(launch)
        grant = SmartGrant.objects.create(
            clinic=app.clinic, app=app, user=user, patient=patient, scopes=scopes.texts
        )
        AuthorizationCode.objects.create(
            clinic=app.clinic,
            grant=grant,
            code_hash=hash_secret(raw),
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            nonce=nonce,
            expires_at=timezone.now() + timedelta(seconds=settings.SMART_CODE_SECONDS),
        )
        detail = {"app": app.name, "scopes": grant.scopes}
        if launch is not None:
            detail["launch"] = launch.pk
        _record(request, grant, user, event="SMART app allowed", **detail)
    return grant, raw


def _issue(grant: SmartGrant, scopes: list[str], offline: bool) -> Issued:
    now = timezone.now()
    access = new_secret(ACCESS_PREFIX)
    lifetime = settings.SMART_ACCESS_TOKEN_SECONDS
    rows = [
        SmartToken(
            clinic_id=grant.clinic_id,
            grant=grant,
            kind=SmartToken.Kind.ACCESS,
            token_hash=hash_secret(access),
            scopes=scopes,
            expires_at=now + timedelta(seconds=lifetime),
        )
    ]
    refresh = new_secret(REFRESH_PREFIX) if offline else None
    if refresh is not None:
        rows.append(
            SmartToken(
                clinic_id=grant.clinic_id,
                grant=grant,
                kind=SmartToken.Kind.REFRESH,
                token_hash=hash_secret(refresh),
                scopes=scopes,
                expires_at=now + timedelta(days=settings.SMART_REFRESH_TOKEN_DAYS),
            )
        )
    SmartToken.objects.bulk_create(rows)
    return Issued(access, lifetime, scopes, grant.patient_id, refresh)


def _revoke_grant(grant: SmartGrant) -> None:
    now = timezone.now()
    SmartGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=now)
    SmartToken.objects.filter(grant=grant, revoked_at__isnull=True).update(revoked_at=now)


def exchange_code(
    *,
    app: SmartApp,
    raw_code: str,
    redirect_uri: str,
    verifier: str,
    request: HttpRequest | None = None,
) -> Issued:
    """Tokens for a code ``app`` was given; OAuthError (invalid_grant) for any other.

    A refused code is spent all the same, and the refusal is kept in the audit chain."""
    with transaction.atomic():
        code = (
            AuthorizationCode.objects.select_for_update()
            .select_related("grant", "grant__user", "grant__app")
            .filter(code_hash=hash_secret(raw_code), grant__app=app)
            .first()
        )
        if code is None:
            raise OAuthError("invalid_grant", "code: not a code this app was given")
        outcome = _spend(code, app, redirect_uri, verifier, request)
    if isinstance(outcome, str):
        raise OAuthError("invalid_grant", outcome)
    return outcome


def _spend(
    code: AuthorizationCode,
    app: SmartApp,
    redirect_uri: str,
    verifier: str,
    request: HttpRequest | None,
) -> Issued | str:
    grant = code.grant
    if code.used_at is not None:
        _revoke_grant(grant)  # a replayed code: whoever holds it, stop the grant
        _record(request, grant, grant.user, event="SMART code reused; access revoked")
        return "code: already used; this app's access has been revoked"
    AuthorizationCode.objects.filter(pk=code.pk).update(used_at=timezone.now())
    problem = _code_problem(code, grant, redirect_uri, verifier)
    if problem is not None:
        _record(request, grant, grant.user, event="SMART code refused", reason=problem)
        return problem
    scopes = list(grant.scopes)
    issued = _with_id_token(
        _issue(grant, scopes, offline=OFFLINE in scopes), grant, code.nonce, request
    )
    _record(request, grant, grant.user, event="SMART token issued", app=app.name)
    return issued


def _with_id_token(
    issued: Issued, grant: SmartGrant, nonce: str, request: HttpRequest | None
) -> Issued:
    """With ``openid`` granted, the person's id_token too (the token endpoint's request
    names this server)."""
    if OPENID not in issued.scopes or request is None:
        return issued
    token = idtoken.id_token(
        request=request,
        grant=grant,
        scopes=issued.scopes,
        nonce=nonce,
        lifetime=issued.expires_in,
    )
    return replace(issued, id_token=token)


def _code_problem(
    code: AuthorizationCode, grant: SmartGrant, redirect_uri: str, verifier: str
) -> str | None:
    if code.expires_at <= timezone.now():
        return "code: expired; ask the person to allow the app again"
    if grant.revoked_at is not None:
        return "code: this access was revoked"
    if redirect_uri != code.redirect_uri:
        return "redirect_uri: not the address the code was sent to"
    if not pkce_matches(verifier, code.code_challenge):
        return "code_verifier: does not match the code_challenge"
    return None


def refresh(
    *,
    app: SmartApp,
    raw_refresh: str,
    narrower: Scopes | None,
    served: Collection[str],
    request: HttpRequest | None = None,
) -> Issued:
    """New access and refresh tokens for a refresh token; the old one is spent (rotation).

    ``narrower`` (the scope parameter) may only narrow what was granted."""
    with transaction.atomic():
        token = (
            SmartToken.objects.select_for_update()
            .select_related("grant", "grant__user", "grant__app")
            .filter(
                token_hash=hash_secret(raw_refresh),
                kind=SmartToken.Kind.REFRESH,
                grant__app=app,
            )
            .first()
        )
        if token is None:
            raise OAuthError("invalid_grant", "refresh_token: not a token this app was given")
        outcome = _rotate(token, narrower, served, request)
    if isinstance(outcome, str):
        raise OAuthError("invalid_grant" if "scope" not in outcome else "invalid_scope", outcome)
    return outcome


def _rotate(
    token: SmartToken, narrower: Scopes | None, served: Collection[str], request: HttpRequest | None
) -> Issued | str:
    grant, now = token.grant, timezone.now()
    if token.used_at is not None and grant.revoked_at is None:
        _revoke_grant(grant)  # RFC 9700 4.14.2: a reused refresh token ends the grant
        _record(request, grant, grant.user, event="SMART refresh token reused; access revoked")
        return "refresh_token: already used; this app's access has been revoked"
    if token.revoked_at is not None or grant.revoked_at is not None or token.used_at:
        return "refresh_token: revoked"
    if token.expires_at <= now or not grant.user.is_active:
        return "refresh_token: expired; ask the person to allow the app again"
    scopes = list(token.scopes)
    if narrower is not None:
        if not narrower.within(from_granted(scopes, served)):
            return "scope: may only narrow the scopes that were granted"
        scopes = narrower.texts
    SmartToken.objects.filter(pk=token.pk).update(used_at=now, last_used_at=now)
    issued = _with_id_token(_issue(grant, scopes, offline=OFFLINE in scopes), grant, "", request)
    _record(request, grant, grant.user, event="SMART token refreshed", scopes=scopes)
    return issued


def revoke(*, app: SmartApp, raw: str, request: HttpRequest | None = None) -> bool:
    """RFC 7009: revoke the grant behind an access or refresh token of ``app``.

    False when the token is unknown, already revoked or another app's (nothing changes)."""
    with transaction.atomic():
        token = (
            SmartToken.objects.select_related("grant", "grant__user")
            .filter(token_hash=hash_secret(raw), grant__app=app)
            .first()
        )
        if token is None or token.grant.revoked_at is not None:
            return False
        _revoke_grant(token.grant)
        _record(request, token.grant, token.grant.user, event="SMART access revoked by the app")
    return True


def disconnect(*, grant: SmartGrant, by: User, request: HttpRequest | None = None) -> bool:
    """The person who allowed an app (or a clinic admin) stops its access."""
    if grant.revoked_at is not None:
        return False
    with transaction.atomic():
        _revoke_grant(grant)
        _record(request, grant, by, event="SMART access revoked", app=grant.app.name)
    grant.refresh_from_db()
    return True
