"""CORS for the FHIR base, the token and revocation endpoints, the id_token keys and the
SMART and OpenID discovery documents.

Only the web origins registered for an active app may call from a browser, and each is
named back exactly (never ``*``); credentials (cookies) are never allowed, as these
endpoints take bearer tokens and client credentials only. A preflight (OPTIONS with
Access-Control-Request-Method) from a registered origin is answered here with 204; from
any other origin with 403.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from katclinic.smart.models import SmartApp

PATHS = (
    "/fhir/R4/",
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/jwks",
    "/.well-known/smart-configuration",
    "/.well-known/openid-configuration",
)
METHODS = "GET, HEAD, POST, DELETE, OPTIONS"
HEADERS = "Authorization, Content-Type, Accept, Prefer, If-None-Exist, If-None-Match, "
HEADERS += "If-Modified-Since"
EXPOSED = "Location, ETag, Last-Modified, Content-Location, WWW-Authenticate, X-Progress"
MAX_AGE = "600"


def origin_allowed(origin: str) -> bool:
    """Whether an active app registered ``origin`` (a clinic registers a handful of apps)."""
    if not origin or len(origin) > 300 or "\x00" in origin:
        return False
    rows = SmartApp.objects.filter(disabled_at__isnull=True).values_list("origins", flat=True)
    return any(origin.lower() in (origins or []) for origins in rows)


class CorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        if not origin or not request.path.startswith(PATHS):
            return self.get_response(request)
        allowed = origin_allowed(origin)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204 if allowed else 403)
            if allowed:
                response["Access-Control-Allow-Methods"] = METHODS
                response["Access-Control-Allow-Headers"] = HEADERS
                response["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = self.get_response(request)
            if allowed:
                response["Access-Control-Expose-Headers"] = EXPOSED
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ["Origin"])
        return response
