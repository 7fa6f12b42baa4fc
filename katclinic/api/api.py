"""The JSON API: one NinjaAPI, with a router from each app that offers endpoints.

OpenAPI is served at /api/openapi.json and the interactive docs at /api/docs.
"""

from __future__ import annotations

import importlib

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from katclinic.api.auth import TokenAuth
from katclinic.api.parser import RefuseNulParser

api = NinjaAPI(
    title="KAT Clinic API",
    version="1",
    description="Clinic-scoped JSON API. Authenticate with `Authorization: Bearer <token>`.",
    auth=TokenAuth(),
    parser=RefuseNulParser(),
    urls_namespace="api",
    docs_url=None,  # the interactive docs load scripts from a CDN, which the CSP refuses
)

# Apps that offer endpoints, each as `<module>.router` mounted at the given prefix.
ROUTERS = [
    ("katclinic.patients.api", "/patients"),
    ("katclinic.measures.api", "/measures"),
    ("katclinic.intake.api", "/intake"),
    ("katclinic.scheduling.api", "/appointments"),
    ("katclinic.protocols.api", "/plans"),
    ("katclinic.dosing.api", "/sessions"),
    ("katclinic.surveillance.api", "/surveillance"),
]

for module_name, prefix in ROUTERS:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        continue
    api.add_router(prefix, module.router)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Permission denied"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Name each field that failed, in plain words, and store nothing."""
    errors = [
        {
            "field": ".".join(
                str(part)
                for part in e.get("loc", ())
                if part not in ("body", "payload", "query", "path")
            ),
            "message": e.get("msg", ""),
        }
        for e in exc.errors
    ]
    return api.create_response(request, {"detail": "Invalid input", "errors": errors}, status=422)
