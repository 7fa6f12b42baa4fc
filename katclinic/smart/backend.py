"""SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html):
a server of another organisation, registered by a clinic admin with its public keys (a
JWKS), asks for a token with ``grant_type=client_credentials`` and a JWT it signed
(``private_key_jwt``, RFC 7523). The token acts for the app's clinic with ``system/``
scopes; no person stands behind it.

The assertion must name the app as both ``iss`` and ``sub``, this token endpoint as
``aud``, expire at most five minutes ahead, carry a ``jti`` never seen before (kept until
the assertion expires) and be signed with RS384 or ES384 by a key of the app's JWKS,
found by its ``kid``.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.middleware import clinic_zone
from katclinic.clinics.models import Clinic
from katclinic.smart.auth import served_types
from katclinic.smart.discovery import ALGORITHMS
from katclinic.smart.models import (
    BACKEND_PREFIX,
    BackendToken,
    SmartApp,
    UsedAssertion,
    hash_secret,
    new_secret,
)
from katclinic.smart.oauth import CLIENT_ID, OAuthError, invalid
from katclinic.smart.scopes import SYSTEM_LEVELS, ScopeError, Scopes, from_granted, parse_scopes
from katclinic.smart.services import AppRefused, clean_name, record_app_event

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The specification's limit on how far ahead an assertion may expire.
MAX_ASSERTION_SECONDS = 300
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_KEYS = 10
MAX_JWKS_CHARS = 50_000


@dataclass(frozen=True)
class BackendIssued:
    access_token: str
    expires_in: int
    scopes: list[str]

    def answer(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(self.scopes),
        }


def _clean_key(key: Any, index: int) -> dict[str, Any]:
    where = f"jwks: key {index + 1}"
    if not isinstance(key, dict):
        raise AppRefused(f"{where} is not a JSON object")
    if PRIVATE_MEMBERS & set(key):
        raise AppRefused(f"{where} holds a private key; give the public keys only")
    if key.get("kty") not in ("RSA", "EC"):
        raise AppRefused(f"{where}: kty must be RSA or EC")
    if key.get("kty") == "EC" and key.get("crv") != "P-384":
        raise AppRefused(f"{where}: an EC key must be on the P-384 curve (ES384)")
    if key.get("alg") not in (None, *ALGORITHMS):
        raise AppRefused(f"{where}: alg must be RS384 or ES384")
    kid = key.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 255:
        raise AppRefused(f"{where} needs a kid (key id) of 1 to 255 characters")
    try:
        jwt.PyJWK(key, algorithm="ES384" if key["kty"] == "EC" else "RS384")
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise AppRefused(f"{where} is not a usable public key") from error
    return key


def clean_jwks(text: str) -> dict[str, Any]:
    """The JWKS an admin pasted (``{"keys": [...]}``), public keys only, each with a kid."""
    if not text.strip() or len(text) > MAX_JWKS_CHARS:
        raise AppRefused(f"jwks: paste the app's JWKS, at most {MAX_JWKS_CHARS} characters")
    try:
        found = json.loads(text)
    except ValueError as error:
        raise AppRefused('jwks: not JSON; paste the {"keys": [...]} document') from error
    keys = found.get("keys") if isinstance(found, dict) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_KEYS:
        raise AppRefused(f'jwks: give {{"keys": [...]}} with 1 to {MAX_KEYS} keys')
    cleaned = [_clean_key(key, index) for index, key in enumerate(keys)]
    if len({key["kid"] for key in cleaned}) != len(cleaned):
        raise AppRefused("jwks: each key needs its own kid")
    return {"keys": cleaned}


def _clean_scopes(text: str) -> list[str]:
    try:
        return parse_scopes(text, served_types(), SYSTEM_LEVELS).texts
    except ScopeError as error:
        raise AppRefused(f"system_scopes: {error}") from error


def register_backend(
    *,
    clinic: Clinic,
    name: str,
    jwks: str,
    scopes: str,
    by: User | None,
    request: HttpRequest | None = None,
) -> SmartApp:
    """A new backend service of ``clinic`` that may ask for ``scopes`` (system/ only)."""
    name = clean_name(name)
    keys = clean_jwks(jwks)
    granted = _clean_scopes(scopes or "system/*.rs")
    with transaction.atomic():
        app = SmartApp.objects.create(
            clinic=clinic,
            name=name,
            client_id=new_secret()[:32].replace("-", "x").replace("_", "y"),
            confidential=True,  # it has no secret: client_secret authentication always fails
            backend=True,
            jwks=keys,
            system_scopes=granted,
            created_by=by,
        )
        record_app_event(request, app, by, event="SMART backend service registered", scopes=granted)
    return app


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise OAuthError("invalid_client", "client_assertion: not a signed JWT", 401) from error
    if header.get("alg") not in ALGORITHMS:
        raise OAuthError("invalid_client", "client_assertion: sign it with RS384 or ES384", 401)
    return header, claims


def _app_named(claims: dict[str, Any], client_id: str) -> SmartApp:
    issuer = claims.get("iss")
    app = None
    if isinstance(issuer, str) and CLIENT_ID.fullmatch(issuer):
        app = (
            SmartApp.objects.select_related("clinic")
            .filter(client_id=issuer, backend=True, disabled_at__isnull=True)
            .first()
        )
    if app is None:
        raise OAuthError("invalid_client", "client_assertion: iss names no backend service", 401)
    if client_id and not hmac.compare_digest(client_id, app.client_id):
        raise OAuthError("invalid_client", "client_id: differs from the assertion's iss", 401)
    return app


def _key_for(app: SmartApp, header: dict[str, Any]) -> Any:
    kid = header.get("kid")
    key = next((k for k in app.jwks.get("keys", []) if k.get("kid") == kid), None)
    if key is None or key.get("alg") not in (None, header["alg"]):
        raise OAuthError(
            "invalid_client", "client_assertion: kid names no key registered for this app", 401
        )
    try:
        return jwt.PyJWK(key, algorithm=header["alg"]).key
    except jwt.PyJWTError as error:
        raise OAuthError(
            "invalid_client", "client_assertion: the key does not fit the algorithm", 401
        ) from error


CLAIM_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "has expired"),
    (jwt.InvalidAudienceError, "aud must be this server's token endpoint"),
    (jwt.InvalidIssuerError, "iss must be the client id"),
    (jwt.MissingRequiredClaimError, "needs iss, sub, aud, exp and jti"),
    (jwt.InvalidSignatureError, "the signature does not match the app's key"),
    (jwt.PyJWTError, "cannot be verified"),
)


def _verified(assertion: str, app: SmartApp, key: Any, alg: str, token_url: str) -> Any:
    try:
        return jwt.decode(
            assertion,
            key=key,
            algorithms=[alg],
            audience=token_url,
            issuer=app.client_id,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.PyJWTError as error:
        why = next(text for kind, text in CLAIM_ERRORS if isinstance(error, kind))
        raise OAuthError("invalid_client", f"client_assertion: {why}", 401) from error


def _claims_problem(claims: dict[str, Any], app: SmartApp, now: datetime) -> str | None:
    if claims.get("sub") != app.client_id:
        return "client_assertion: sub must be the client id"
    if not isinstance(claims["exp"], int | float):
        return "client_assertion: exp must be a number"
    if claims["exp"] > now.timestamp() + MAX_ASSERTION_SECONDS:
        return "client_assertion: exp may be at most five minutes ahead"
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        return "client_assertion: jti must be text of 1 to 255 characters"
    return None


def _spend_jti(app: SmartApp, claims: dict[str, Any]) -> None:
    expires = datetime.fromtimestamp(claims["exp"], tz=UTC)
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(app=app, jti=claims["jti"], expires_at=expires)
    except IntegrityError as error:
        raise OAuthError(
            "invalid_client", "client_assertion: this jti was already used", 401
        ) from error


def _asked_scopes(app: SmartApp, raw: str) -> Scopes:
    try:
        asked = parse_scopes(raw, served_types(), SYSTEM_LEVELS)
    except ScopeError as error:
        raise OAuthError("invalid_scope", f"scope: {error}") from error
    if not asked.within(from_granted(app.system_scopes, served_types(), SYSTEM_LEVELS)):
        granted = " ".join(app.system_scopes)
        raise OAuthError("invalid_scope", f"scope: this service may ask for {granted} only")
    return asked


def client_credentials(
    *, assertion_type: str, assertion: str, scope: str, client_id: str, request: HttpRequest
) -> BackendIssued:
    """A token for the backend service whose signed assertion this is (OAuthError if not)."""
    if assertion_type != ASSERTION_TYPE:
        raise invalid("client_assertion_type", f"must be {ASSERTION_TYPE}")
    if not assertion:
        raise invalid("client_assertion", "is required")
    header, unverified = _unverified(assertion)
    app = _app_named(unverified, client_id)
    try:
        claims = _verified(
            assertion, app, _key_for(app, header), header["alg"], _token_url(request)
        )
        problem = _claims_problem(claims, app, timezone.now())
        if problem is not None:
            raise OAuthError("invalid_client", problem, 401)
        scopes = _asked_scopes(app, scope)
        _spend_jti(app, claims)
    except OAuthError as error:
        record_app_event(request, app, None, event="SMART backend token refused", reason=str(error))
        raise
    return _issue(app, scopes.texts, request)


def _token_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("oauth:token"))


def _issue(app: SmartApp, scopes: list[str], request: HttpRequest) -> BackendIssued:
    raw = new_secret(BACKEND_PREFIX)
    lifetime = settings.SMART_BACKEND_TOKEN_SECONDS
    with transaction.atomic():
        BackendToken.objects.create(
            clinic_id=app.clinic_id,
            app=app,
            token_hash=hash_secret(raw),
            scopes=scopes,
            expires_at=timezone.now() + timedelta(seconds=lifetime),
        )
        record_app_event(request, app, None, event="SMART backend token issued", scopes=scopes)
    return BackendIssued(raw, lifetime, scopes)


def is_backend_token(raw: str) -> bool:
    return raw.startswith(BACKEND_PREFIX)


def authenticate_backend(request: HttpRequest, raw: str) -> BackendToken | None:
    """Set request.clinic, .backend and .smart_scopes for a usable backend token."""
    if len(raw) > 200 or not is_backend_token(raw):
        return None
    now = timezone.now()
    token = (
        BackendToken.objects.select_related("app", "clinic")
        .filter(
            token_hash=hash_secret(raw),
            revoked_at__isnull=True,
            expires_at__gt=now,
            app__disabled_at__isnull=True,
        )
        .first()
    )
    if token is None:
        return None
    request.clinic = token.clinic  # type: ignore[attr-defined]
    request.roles = frozenset()  # type: ignore[attr-defined]
    request.backend = token  # type: ignore[attr-defined]
    request.smart_scopes = from_granted(token.scopes, served_types(), SYSTEM_LEVELS)  # type: ignore[attr-defined]
    timezone.activate(clinic_zone(token.clinic.timezone))
    BackendToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def backend_token(request: HttpRequest) -> BackendToken | None:
    """The backend service's token the request was authenticated with, if any."""
    return getattr(request, "backend", None)


def prune_used_assertions() -> int:
    """Forget the jti of assertions that have expired (they can no longer be replayed)."""
    deleted, _ = UsedAssertion.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
