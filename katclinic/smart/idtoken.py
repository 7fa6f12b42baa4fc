"""OpenID Connect for SMART apps (SMART App Launch 2.x, "Scopes for requesting identity
data": https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).

An app granted ``openid`` gets an ``id_token`` with its access token: a JWT signed RS256
by the server's key (OpenID Connect Core 1.0 section 2 and 15.1), naming the server
(``iss``), the person (``sub``), the app (``aud``) and, with ``fhirUser``, the person's own
FHIR resource: their Patient record, or the Practitioner a staff member is. The public
key is published as a JWKS; the OpenID configuration names it (OpenID Connect Discovery
1.0, https://openid.net/specs/openid-connect-discovery-1_0.html).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.smart.models import SigningKey, SmartGrant

ALGORITHM = "RS256"
KEY_NAME = "id_token"
# NIST SP 800-57 Part 1 Rev. 5, table 2 (https://doi.org/10.6028/NIST.SP.800-57pt1r5):
# 2048-bit RSA gives 112-bit security, acceptable through 2030.
KEY_BITS = 2048


class KeyProblem(ValueError):
    """SMART_ID_TOKEN_KEY is not an RSA private key in PEM."""


def _thumbprint(public: dict[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the key's required members, as the key id."""
    members = {name: public[name] for name in ("e", "kty", "n")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@lru_cache(maxsize=4)
def _loaded(pem: str) -> tuple[str, rsa.RSAPrivateKey]:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise KeyProblem(
            "SMART_ID_TOKEN_KEY: not a PEM private key without a passphrase"
        ) from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyProblem("SMART_ID_TOKEN_KEY: must be an RSA key (id_tokens are signed RS256)")
    return _thumbprint(_public_jwk(key)), key


def _public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)


def _stored_pem() -> str:
    """The key made once for this server (the first request that needs one makes it)."""
    row = SigningKey.objects.filter(name=KEY_NAME).first()
    if row is not None:
        return row.private_pem
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    try:
        with transaction.atomic():
            SigningKey.objects.create(
                name=KEY_NAME, kid=_thumbprint(_public_jwk(key)), private_pem=pem
            )
    except IntegrityError:  # another process made it first: use theirs
        return SigningKey.objects.get(name=KEY_NAME).private_pem
    return pem


def signing_key() -> tuple[str, rsa.RSAPrivateKey]:
    """(key id, private key): the configured key, else the one stored for this server."""
    return _loaded(settings.SMART_ID_TOKEN_KEY or _stored_pem())


def jwks() -> dict[str, Any]:
    kid, key = signing_key()
    return {"keys": [_public_jwk(key) | {"kid": kid, "alg": ALGORITHM, "use": "sig"}]}


def issuer(request: HttpRequest) -> str:
    """This server, as id_tokens name it: its OpenID configuration is at
    ``{issuer}/.well-known/openid-configuration``."""
    return request.build_absolute_uri("/").rstrip("/")


def fhir_user(request: HttpRequest, grant: SmartGrant) -> str:
    """The signed-in person's own resource: their Patient record, or a staff member's
    Practitioner."""
    base = request.build_absolute_uri(reverse("fhir:transaction"))
    if grant.user.is_staff_member:
        return f"{base}Practitioner/{grant.user_id}"
    return f"{base}Patient/{grant.patient_id}"


def id_token(
    *, request: HttpRequest, grant: SmartGrant, scopes: list[str], nonce: str, lifetime: int
) -> str:
    """The signed id_token for the person behind ``grant``."""
    kid, key = signing_key()
    now = int(timezone.now().timestamp())
    claims: dict[str, Any] = {
        "iss": issuer(request),
        "sub": str(grant.user_id),
        "aud": grant.app.client_id,
        "iat": now,
        "exp": now + lifetime,
    }
    if "fhirUser" in scopes:
        claims["fhirUser"] = fhir_user(request, grant)
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
