"""What this server tells SMART apps about itself: the oauth-uris of the CapabilityStatement
and the ``.well-known/smart-configuration`` document (SMART App Launch 2.x, Conformance:
https://hl7.org/fhir/smart-app-launch/conformance.html)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from katclinic.smart.scopes import LAUNCH_PATIENT, OFFLINE

# SMART Backend Services: the algorithms a client assertion may be signed with.
ALGORITHMS = ("RS384", "ES384")

CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-standalone-patient",
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


def smart_configuration(request: HttpRequest, served: list[str]) -> dict[str, Any]:
    uris = oauth_uris(request)
    scopes = [LAUNCH_PATIENT, OFFLINE, "patient/*.rs", "user/*.rs"]
    scopes += ["system/*.rs"]
    for level in ("patient", "user", "system"):
        scopes += [f"{level}/{name}.rs" for name in served]
    return {
        "authorization_endpoint": uris["authorize"],
        "token_endpoint": uris["token"],
        "revocation_endpoint": uris["revoke"],
        "management_endpoint": uris["manage"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes,
        "capabilities": CAPABILITIES,
    }
