"""What this server tells SMART apps about itself: the oauth-uris of the CapabilityStatement
and the ``.well-known/smart-configuration`` document (SMART App Launch 2.x, Conformance:
https://hl7.org/fhir/smart-app-launch/conformance.html), and the OpenID Connect
configuration apps that sign people in read (``.well-known/openid-configuration``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from katclinic.smart.idtoken import ALGORITHM as ID_TOKEN_ALGORITHM
from katclinic.smart.idtoken import issuer
from katclinic.smart.scopes import FHIR_USER, LAUNCH, LAUNCH_PATIENT, OFFLINE, OPENID

# SMART Backend Services: the algorithms a client assertion may be signed with.
ALGORITHMS = ("RS384", "ES384")

CAPABILITIES = [
    "launch-standalone",
    "launch-ehr",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-standalone-patient",
    "context-ehr-patient",
    "sso-openid-connect",
    "permission-v1",
    "permission-v2",
    "permission-patient",
    "permission-user",
    "permission-offline",
]


def oauth_uris(request: HttpRequest) -> dict[str, str]:
    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return {
        "authorize": absolute("oauth:authorize"),
        "token": absolute("oauth:token"),
        "revoke": absolute("oauth:revoke"),
        "manage": absolute("oauth:connected"),
    }


def jwks_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("oauth:jwks"))


AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def smart_configuration(request: HttpRequest, served: list[str]) -> dict[str, Any]:
    uris = oauth_uris(request)
    scopes = [LAUNCH_PATIENT, LAUNCH, OFFLINE, OPENID, FHIR_USER, "patient/*.rs", "user/*.rs"]
    scopes += ["system/*.rs"]
    for level in ("patient", "user", "system"):
        scopes += [f"{level}/{name}.rs" for name in served]
    return {
        # Required with sso-openid-connect (SMART App Launch 2.x, Conformance).
        "issuer": issuer(request),
        "jwks_uri": jwks_uri(request),
        "authorization_endpoint": uris["authorize"],
        "token_endpoint": uris["token"],
        "revocation_endpoint": uris["revoke"],
        "management_endpoint": uris["manage"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes,
        "capabilities": CAPABILITIES,
    }


def openid_configuration(request: HttpRequest) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 section 3: the required members, and those SMART apps
    use to sign people in (SMART App Launch 2.x, "Scopes for requesting identity data")."""
    uris = oauth_uris(request)
    return {
        "issuer": issuer(request),
        "authorization_endpoint": uris["authorize"],
        "token_endpoint": uris["token"],
        "jwks_uri": jwks_uri(request),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALGORITHM],
        "scopes_supported": [OPENID, FHIR_USER, LAUNCH, LAUNCH_PATIENT, OFFLINE],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
    }
