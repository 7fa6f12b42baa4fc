"""The JSON API: one NinjaAPI, with a router from each app that offers endpoints.

OpenAPI is served at /api/openapi.json and the interactive docs at /api/docs.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from katclinic.api.auth import TokenAuth
from katclinic.api.parser import RefuseNulParser
from katclinic.dosing import api as dosing_api
from katclinic.intake import api as intake_api
from katclinic.lib.parse import BadParameter
from katclinic.measures import api as measures_api
from katclinic.patients import api as patients_api
from katclinic.protocols import api as protocols_api
from katclinic.scheduling import api as scheduling_api
from katclinic.surveillance import api as surveillance_api

api = NinjaAPI(
    title="KAT Clinic API",
    version="1",
    description="Clinic-scoped JSON API. Authenticate with `Authorization: Bearer <token>`.",
    auth=TokenAuth(),
    parser=RefuseNulParser(),
    urls_namespace="api",
    docs_url=None,  # the interactive docs load scripts from a CDN, which the CSP refuses
)

# Apps that offer endpoints, each router mounted at its prefix.
ROUTERS = [
    ("/patients", patients_api.router),
    ("/measures", measures_api.router),
    ("/intake", intake_api.router),
    ("/appointments", scheduling_api.router),
    ("/plans", protocols_api.router),
    ("/sessions", dosing_api.router),
    ("/surveillance", surveillance_api.router),
]

for prefix, router in ROUTERS:
    api.add_router(prefix, router)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Permission denied"}, status=403)


@api.exception_handler(BadParameter)
def bad_parameter(request: HttpRequest, exc: BadParameter) -> HttpResponse:
    body = {"detail": "Invalid input", "errors": [{"field": exc.field, "message": exc.message}]}
    return api.create_response(request, body, status=422)


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
