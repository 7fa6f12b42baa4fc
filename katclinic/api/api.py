"""The JSON API: one NinjaAPI, with a router from each app that offers endpoints.

OpenAPI is served at /api/openapi.json and the interactive docs at /api/docs.
"""

from __future__ import annotations

from typing import Any

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

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in plain words."},
        "errors": {
            "type": "array",
            "description": "For invalid input: each field that was refused and why.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
# Statuses every operation may answer, and the ones an operation with a body adds.
ERROR_STATUSES = {
    "401": "No valid bearer token (missing, unknown, expired or revoked).",
    "403": "The token lacks the operation's scope, or its user's role lacks the permission.",
    "404": "Not found, or not in the token's clinic.",
    "422": "Invalid input; `errors` names each refused field.",
}
BODY_STATUSES = {
    "400": "The request body is not valid JSON.",
    "413": "The request body is larger than the server accepts.",
    "415": "The body is not sent as application/json.",
}


class ClinicApi(NinjaAPI):
    """The NinjaAPI whose OpenAPI names every error status and each operation's scope.

    An operation's scope is the `x-scope` its `@requires(Scope.X)` declares; the
    description and the security requirement repeat it."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for methods in schema["paths"].values():
            for method, operation in methods.items():
                statuses = dict(ERROR_STATUSES)
                if method in ("post", "put", "patch"):
                    statuses |= BODY_STATUSES
                responses = operation["responses"]
                for status, text in statuses.items():
                    if status not in responses and int(status) not in responses:
                        responses[int(status)] = {"description": text, "content": error}
                scope = operation.get("x-scope")
                if scope is None:
                    continue
                note = f"Requires a token with scope `{scope}`."
                description = operation.get("description", "")
                operation["description"] = f"{description}\n\n{note}".strip()
                operation["security"] = [{"TokenAuth": [scope]}]
        return schema


api = ClinicApi(
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
