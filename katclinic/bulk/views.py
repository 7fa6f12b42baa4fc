"""FHIR Bulk Data Access 2.0 export (https://hl7.org/fhir/uv/bulkdata/export.html):
the kick-off (``$export`` at the system, Patient and Group level), the status address and
the files. A Group is one of the clinic's protocols and its patients (see the Group
provider); ``_typeFilter`` queries are read by the facade's own search code.

Only a backend service's token (SMART Backend Services, ``system/`` scopes) may export;
any other token is a recorded 403. Every error is an OperationOutcome naming its field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from katclinic.api.models import Scope
from katclinic.bulk import services
from katclinic.bulk.exporter import STUCK, fail_if_stuck, file_path
from katclinic.bulk.models import ExportJob
from katclinic.clinics.access import deny
from katclinic.fhir.access import authenticate
from katclinic.fhir.outcome import FhirError, Issue, operation_outcome
from katclinic.fhir.registry import REGISTRY
from katclinic.fhir.views import fhir_response, filtered, preferences
from katclinic.protocols.models import ProtocolVersion
from katclinic.smart.backend import authenticate_backend, is_backend_token
from katclinic.smart.models import BackendToken
from katclinic.smart.scopes import Scopes

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = (NDJSON, "application/ndjson", "ndjson")
KICK_OFF_PARAMS = {"_type", "_since", "_outputFormat", "_typeFilter"}
MAX_FILTER_LENGTH = 2000
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
View = Callable[..., HttpResponseBase]
Level = ExportJob.Level


def bulk_endpoint(*methods: str) -> Callable[[View], View]:
    """Only ``methods``; the caller is a backend service (401 without a token, 403 with
    another kind); every failure is an OperationOutcome."""

    def decorator(view: View) -> View:
        @csrf_exempt  # bearer tokens only: no cookie is ever trusted here
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if request.method not in methods:
                    raise FhirError.simple(405, f"use {' or '.join(methods)} here", "not-supported")
                return view(request, _backend_token(request), *args, **kwargs)
            except FhirError as error:
                response = fhir_response(operation_outcome(error.issues), error.status)
                if error.status == 401:
                    response["WWW-Authenticate"] = 'Bearer realm="fhir"'
                return response
            except PermissionDenied as error:
                issue = Issue(str(error) or "forbidden", "", "forbidden")
                return fhir_response(operation_outcome([issue]), 403)
            except Http404:
                issue = Issue("no such export for this app", "", "not-found")
                return fhir_response(operation_outcome([issue]), 404)

        return wrapped

    return decorator


def _backend_token(request: HttpRequest) -> BackendToken:
    kind, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    if kind.lower() == "bearer" and is_backend_token(raw):
        token = authenticate_backend(request, raw)
        if token is None:
            raise FhirError.simple(401, "a valid bearer token is required", "login")
        return token
    authenticate(request, Scope.FHIR_READ)  # 401 unless it is some other usable token
    deny(request, reason="a bulk export needs the token of a backend service (system/ scopes)")


def _one(request: HttpRequest, name: str) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise FhirError.simple(400, f"send {name} once", "value", name)
    return values[0] if values else None


def _types(request: HttpRequest, level: ExportJob.Level) -> list[str]:
    """The types asked for (``_type``), each served at this level and within the scopes."""
    served = [
        name
        for name, resource_type in REGISTRY.items()
        if level == Level.SYSTEM or resource_type.patient_field is not None
    ]
    raw = _one(request, "_type")
    scopes = cast(Scopes, request.smart_scopes)  # type: ignore[attr-defined]
    if raw is None:
        return [name for name in served if scopes.level_for(name, "r") == "system"]
    asked = list(dict.fromkeys(part.strip() for part in raw.split(",")))
    unknown = [name for name in asked if name not in served]
    if unknown:
        raise FhirError.simple(
            400,
            f"{', '.join(unknown)[:200]} cannot be exported here; exported: {', '.join(served)}",
            "not-supported",
            "_type",
        )
    outside = [name for name in asked if scopes.level_for(name, "r") != "system"]
    if outside:
        deny(request, reason=f"this service's scopes do not cover {', '.join(outside)}")
    return asked


def _since(request: HttpRequest) -> datetime | None:
    raw = _one(request, "_since")
    if raw is None:
        return None
    if not INSTANT.fullmatch(raw):
        raise FhirError.simple(
            400, "_since must be an instant such as 2025-03-04T10:00:00Z", "value", "_since"
        )
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise FhirError.simple(400, "_since is not a calendar time", "value", "_since") from error


def _check_kick_off(request: HttpRequest) -> None:
    prefer = preferences(request)
    if "respond-async" not in prefer:
        raise FhirError.simple(
            400,
            "a bulk export runs in the background: send Prefer: respond-async",
            "required",
            "Prefer",
        )
    output_format = _one(request, "_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise FhirError.simple(
            400, f"_outputFormat must be {NDJSON}", "not-supported", "_outputFormat"
        )
    unknown = sorted(set(request.GET) - KICK_OFF_PARAMS)
    if unknown and prefer.get("handling") != "lenient":
        raise FhirError.simple(
            400,
            f"{', '.join(unknown)[:200]} is not supported; "
            "use _type, _since, _typeFilter, _outputFormat",
            "not-supported",
            unknown[0][:64],
        )


def _type_filters(request: HttpRequest, types: list[str]) -> dict[str, list[str]]:
    """Each ``_typeFilter`` (``Observation?code=http://loinc.org|44261-6``) by its type,
    checked now with the facade's search code so that a bad one queues nothing. A type's
    filters OR together; the filters narrow, so an unknown parameter is never ignored."""
    found: dict[str, list[str]] = {}
    clinic = request.clinic  # type: ignore[attr-defined]
    for raw in request.GET.getlist("_typeFilter"):
        type_name, sep, query = raw.partition("?")
        shown = raw[:200]
        if len(raw) > MAX_FILTER_LENGTH:
            raise FhirError.simple(
                400,
                f"a _typeFilter is at most {MAX_FILTER_LENGTH} characters",
                "too-long",
                "_typeFilter",
            )
        if not sep or not query:
            raise FhirError.simple(
                400,
                f"_typeFilter {shown!r} must be a type and a search, such as "
                "Observation?code=http://loinc.org|44261-6",
                "value",
                "_typeFilter",
            )
        if type_name not in types:
            raise FhirError.simple(
                400,
                f"_typeFilter names {type_name[:64]}, which this export does not include "
                f"(exported: {', '.join(types)})",
                "not-supported",
                "_typeFilter",
            )
        params = QueryDict(query)
        if any("\x00" in name + "".join(values) for name, values in params.lists()):
            raise FhirError.simple(400, "a _typeFilter must not hold NUL", "value", "_typeFilter")
        resource_type = REGISTRY[type_name]
        try:
            filtered(resource_type, resource_type.rows(clinic), params)
        except FhirError as error:
            issues = [
                Issue(f"_typeFilter {shown!r}: {issue.message}", "_typeFilter", issue.code)
                for issue in error.issues
            ]
            raise FhirError(400, issues) from error
        found.setdefault(type_name, []).append(query)
    return found


def _group(request: HttpRequest, token: BackendToken, raw: str) -> ProtocolVersion:
    """The clinic's Group ``raw``, or a recorded 404; reading its members needs Group in
    the service's scopes."""
    group_type = REGISTRY["Group"]
    group = group_type.lookup(group_type.rows(token.clinic), raw)
    if group is None:
        try:
            deny(request, reason=f"no Group/{raw[:40]} in this clinic", not_found=True)
        except Http404 as error:
            raise FhirError.simple(404, f"Group/{raw[:40]} is not known", "not-found") from error
    scopes = cast(Scopes, request.smart_scopes)  # type: ignore[attr-defined]
    if scopes.level_for("Group", "r") != "system":
        deny(request, reason="this service's scopes do not cover Group")
    return cast(ProtocolVersion, group)


def _kick_off(
    request: HttpRequest,
    token: BackendToken,
    level: ExportJob.Level,
    group: ProtocolVersion | None = None,
) -> HttpResponse:
    _check_kick_off(request)
    types = _types(request, level)
    since = _since(request)
    filters = _type_filters(request, types)
    job = services.start_export(
        token=token,
        level=level,
        types=types,
        since=since,
        type_filters=filters,
        group=group,
        request_url=request.build_absolute_uri(),
    )
    status_url = request.build_absolute_uri(reverse("fhir:export_status", args=[job.key]))
    note = Issue(
        f"export started; its status is at {status_url}", "", "informational", "information"
    )
    response = fhir_response(operation_outcome([note]), 202)
    response["Content-Location"] = status_url
    return response


@bulk_endpoint("GET")
def export(request: HttpRequest, token: BackendToken) -> HttpResponse:
    """``GET [base]/$export``: every type of the clinic the service's scopes cover."""
    return _kick_off(request, token, Level.SYSTEM)


@bulk_endpoint("GET")
def patient_export(request: HttpRequest, token: BackendToken) -> HttpResponse:
    """``GET [base]/Patient/$export``: the clinic's patients and their compartments."""
    return _kick_off(request, token, Level.PATIENT)


@bulk_endpoint("GET")
def group_export(request: HttpRequest, token: BackendToken, group_id: str) -> HttpResponse:
    """``GET [base]/Group/[id]/$export``: the Group's members and their compartments."""
    group = _group(request, token, group_id)
    return _kick_off(request, token, Level.GROUP, group)


def _job(request: HttpRequest, token: BackendToken, key: str) -> ExportJob:
    job = ExportJob.objects.for_app(token.app).select_related("app").filter(key=key).first()
    if job is None or job.status in (ExportJob.Status.CANCELLED, ExportJob.Status.EXPIRED):
        deny(request, reason="no such export for this app", not_found=True)
    return job


def manifest(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    def url(type_name: str) -> str:
        return request.build_absolute_uri(reverse("fhir:export_file", args=[job.key, type_name]))

    return {
        "transactionTime": job.transaction_time.isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": item["type"], "url": url(item["type"]), "count": item["count"]}
            for item in job.output
        ],
        "error": [],
    }


@bulk_endpoint("GET", "DELETE")
def export_status(request: HttpRequest, token: BackendToken, key: str) -> HttpResponse:
    """202 with X-Progress while it runs, the manifest when done; DELETE cancels it."""
    job = _job(request, token, key)
    if request.method == "DELETE":
        services.cancel_export(job=job, request=request)
        return fhir_response(None, 202)
    job = fail_if_stuck(job)
    if job.status == ExportJob.Status.FAILED:
        # A fault of this server, told as the spec's error status: 500 with an
        # OperationOutcome saying what stopped and that a new kick-off is needed.
        code = "timeout" if job.error.startswith(STUCK) else "exception"
        raise FhirError.simple(500, f"the export failed: {job.error}; start a new one", code)
    if job.status != ExportJob.Status.DONE:
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.get_status_display()
        response["Retry-After"] = "5"
        return response
    response = JsonResponse(manifest(request, job))
    if job.expires_at is not None:
        response["Expires"] = http_date(job.expires_at.timestamp())
    return response


@bulk_endpoint("GET")
def export_file(
    request: HttpRequest, token: BackendToken, key: str, type_name: str
) -> HttpResponseBase:
    """One NDJSON file of a finished export, to the service that asked for it."""
    job = _job(request, token, key)
    if job.status != ExportJob.Status.DONE or type_name not in {i["type"] for i in job.output}:
        deny(request, reason="no such file in this export", not_found=True)
    path = file_path(job, type_name)
    if not path.is_file():
        deny(request, reason="this export's files were deleted", not_found=True)
    return FileResponse(path.open("rb"), content_type=NDJSON)
