"""The FHIR R4 REST interface: capabilities, read, search, $everything and transactions.

Plain Django views answering ``application/fhir+json``; every error is an
OperationOutcome. Each request that reads patient data writes one audit event, however
many resources it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from katclinic.accounts.models import User
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, has_perm, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.fhir import services
from katclinic.fhir.access import authenticate, is_patient, readable_row, readable_rows
from katclinic.fhir.bundle import page_links, searchset
from katclinic.fhir.capability import capability_statement
from katclinic.fhir.outcome import FhirError, Issue, operation_outcome
from katclinic.fhir.registry import REGISTRY, ResourceType, SearchParam, patient_ref
from katclinic.fhir.search import SearchValueError, parse_count, parse_offset
from katclinic.lib.parse import BadParameter, load_json, nul_path

FHIR_JSON = "application/fhir+json; charset=utf-8"
# Parameters about the answer rather than the search; _format other than JSON is refused.
CONTROL_PARAMS = {"_count", "_offset", "_format"}
View = Callable[..., HttpResponse]


def fhir_response(resource: dict[str, Any], status: int = 200) -> HttpResponse:
    body = json.dumps(resource, separators=(",", ":"), ensure_ascii=False)
    return HttpResponse(body, status=status, content_type=FHIR_JSON)


def fhir_endpoint(scope: Scope | None, method: str = "GET") -> Callable[[View], View]:
    """Authenticate (unless ``scope`` is None) and answer every failure as an OperationOutcome."""

    def decorator(view: View) -> View:
        @csrf_exempt  # bearer tokens only: no cookie is ever trusted here
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method != method:
                    raise FhirError.simple(405, f"use {method} here", "not-supported")
                if request.GET.get("_format", "json") not in (
                    "json",
                    "application/fhir+json",
                    "application/json",
                ):
                    raise FhirError.simple(406, "only JSON is served", "not-supported", "_format")
                if scope is not None:
                    authenticate(request, scope)
                return view(request, *args, **kwargs)
            except FhirError as error:
                response = fhir_response(operation_outcome(error.issues), error.status)
                if error.status == 401:
                    response["WWW-Authenticate"] = 'Bearer realm="fhir"'
                return response
            except PermissionDenied as error:
                return fhir_response(
                    operation_outcome([Issue(str(error) or "forbidden", "", "forbidden")]), 403
                )
            except Http404:
                return fhir_response(operation_outcome([Issue("not found", "", "not-found")]), 404)
            except BadParameter as error:
                return fhir_response(
                    operation_outcome([Issue(error.message, error.field, "value")]), 400
                )

        return wrapped

    return decorator


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:transaction"))


@fhir_endpoint(scope=None)
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement(base_url(request), timezone.now().date().isoformat()))


def _search_params(
    request: HttpRequest, resource_type: ResourceType
) -> list[tuple[SearchParam, str]]:
    """Each (parameter, value) of the query; an unknown parameter is a 400 naming it."""
    chosen, issues = [], []
    for name, values in request.GET.lists():
        if name in CONTROL_PARAMS:
            continue
        param = resource_type.param(name)
        if param is None:
            known = ", ".join(p.name for p in resource_type.all_params())
            issues.append(
                Issue(
                    f"unknown search parameter; {resource_type.name} supports {known}",
                    name,
                    "not-supported",
                )
            )
            continue
        chosen += [(param, value) for value in values]
    if issues:
        raise FhirError(400, issues)
    return chosen


def _named_patients(resource_type: ResourceType, params: list[tuple[SearchParam, str]]) -> set[int]:
    wanted = "_id" if resource_type.name == "Patient" else "patient"
    return {patient_ref(part) for p, raw in params if p.name == wanted for part in raw.split(",")}


def _audit_read(
    request: HttpRequest,
    resource_type: ResourceType,
    rows: list[Any],
    action: Action = Action.VIEW,
    **detail: Any,
) -> None:
    """One event for everything this request showed of patients' records."""
    patients = sorted(
        {pk for pk in (resource_type.patient_of(row) for row in rows) if pk is not None}
    )
    if not patients:
        return
    audit.record(
        request=request,
        action=action,
        patient_id=patients[0] if len(patients) == 1 else None,
        object_type=f"fhir.{resource_type.name}",
        object_id=str(rows[0].pk) if len(rows) == 1 else "",
        detail={"via": "fhir", "count": len(rows), "patients": patients, **detail},
    )


@fhir_endpoint(scope=Scope.FHIR_READ)
def search(request: HttpRequest, type_name: str) -> HttpResponse:
    resource_type = REGISTRY[type_name]
    try:
        count = parse_count(request.GET.get("_count"))
        offset = parse_offset(request.GET.get("_offset"))
        params = _search_params(request, resource_type)
        named = _named_patients(resource_type, params) if is_patient(request) else set()
    except SearchValueError as error:
        raise FhirError.simple(400, str(error), "value") from error
    rows = readable_rows(request, resource_type, named)
    for param, value in params:
        try:
            rows = param.apply(rows, value)
        except SearchValueError as error:
            raise FhirError.simple(400, str(error), "value", param.name) from error
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    page = list(rows[offset : offset + count])
    resources = [resource_type.render(row) for row in page]
    _audit_read(request, resource_type, page, search=request.GET.urlencode()[:200])
    links = page_links(
        request.build_absolute_uri(request.path),
        [(k, v) for k, vs in request.GET.lists() for v in vs],
        offset,
        count,
        total,
    )
    return fhir_response(searchset(resources, base=base_url(request), total=total, links=links))


@fhir_endpoint(scope=Scope.FHIR_READ)
def read(request: HttpRequest, type_name: str, resource_id: str) -> HttpResponse:
    resource_type = REGISTRY[type_name]
    row = readable_row(request, resource_type, resource_id)
    _audit_read(request, resource_type, [row])
    return fhir_response(resource_type.render(row))


@fhir_endpoint(scope=Scope.FHIR_READ)
def everything(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient and every resource of their compartment the facade serves (one export event)."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    resources = [REGISTRY["Patient"].render(patient)]
    counts = {}
    for resource_type in REGISTRY.values():
        if resource_type.patient_field is None or resource_type.name == "Patient":
            continue
        rows = resource_type.rows(patient.clinic).filter(
            **{resource_type.patient_field: patient.pk}
        )
        rendered = [resource_type.render(row) for row in rows]
        counts[resource_type.name] = len(rendered)
        resources += rendered
    audit.record(
        request=request,
        action=Action.EXPORT,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": "fhir", "operation": "$everything", "counts": counts},
    )
    return fhir_response(searchset(resources, base=base_url(request), total=len(resources)))


@fhir_endpoint(scope=Scope.FHIR_WRITE, method="POST")
def transaction(request: HttpRequest) -> HttpResponse:
    """Import a transaction Bundle: all of it in one database transaction, or nothing.

    Patients need the demographics permission, QuestionnaireResponses the measures one;
    a token holding neither is refused before its body is read.
    """
    if not any(has_perm(request, perm) for perm in services.IMPORTABLE.values()):
        require_perm(request, Perm.EDIT_DEMOGRAPHICS)  # a recorded 403
    try:
        bundle = load_json(request.body, "Bundle")
        if (where := nul_path(bundle, "Bundle")) is not None:
            # PostgreSQL text cannot hold NUL; refuse it by name before anything is stored.
            raise FhirError.simple(400, "text must not contain NUL characters", "value", where)
    except RequestDataTooBig as error:
        raise FhirError.simple(
            413, "the Bundle is too large; send it in smaller batches", "too-costly"
        ) from error
    except BadParameter as error:
        raise FhirError.simple(400, error.message, "structure", error.field) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise FhirError.simple(400, "the body is not JSON", "structure", "Bundle") from error
    clinic = request.clinic  # type: ignore[attr-defined]
    for perm in services.required_perms(bundle):
        clinic = require_perm(request, perm)
    by = cast(User, request.user)  # a token always acts as a signed-in user
    response = services.import_transaction(clinic=clinic, bundle=bundle, by=by, request=request)
    return fhir_response(response)
