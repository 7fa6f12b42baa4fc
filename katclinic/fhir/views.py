"""The FHIR R4 REST interface: capabilities, read, vread, search, create, $everything,
transaction and batch.

Plain Django views answering ``application/fhir+json``; every error is an
OperationOutcome, including paths nothing serves. Each request that reads patient data
writes one audit event, however many resources it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from katclinic.accounts.models import User
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import has_perm, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.fhir import includes, services, wire
from katclinic.fhir.access import (
    authenticate,
    everything_patient,
    in_compartment,
    is_patient,
    may_read_type,
    readable_row,
    readable_rows,
)
from katclinic.fhir.bundle import page_links, searchset
from katclinic.fhir.capability import capability_statement
from katclinic.fhir.outcome import FhirError, Issue, operation_outcome
from katclinic.fhir.registry import REGISTRY, ResourceType, Rows, SearchParam, patient_ref
from katclinic.fhir.search import SearchValueError, parse_count, parse_offset
from katclinic.fhir.versions import last_updated, stamped
from katclinic.lib.parse import BadParameter, load_json, nul_path
from katclinic.smart import auth as smart_auth
from katclinic.smart.discovery import oauth_uris

FHIR_JSON = "application/fhir+json; charset=utf-8"
# Parameters about the answer rather than the search; _format other than JSON is refused.
CONTROL_PARAMS = {"_count", "_offset", "_format", "_sort", "_summary", "_total", "_elements"}
# Some clients (fhirpy's count()) also send _totalMethod; the total is always counted.
CONTROL_PARAMS |= {"_totalMethod"}
CONTROL_PARAMS |= set(includes.PARAMS)
SUMMARIES = ("count", "false")
TOTALS = ("accurate", "estimate", "none")
JSON_TYPES = (
    "*/*",
    "application/*",
    "application/json",
    "application/fhir+json",
    "application/json+fhir",
)
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}
REASONS |= {404: "Not Found", 409: "Conflict", 412: "Precondition Failed", 413: "Too Large"}
REASONS |= {422: "Unprocessable Entity"}
View = Callable[..., HttpResponse]


def fhir_response(resource: dict[str, Any] | None, status: int = 200) -> HttpResponse:
    if resource is None:
        return HttpResponse(status=status, content_type=FHIR_JSON)
    return HttpResponse(wire.dumps(resource), status=status, content_type=FHIR_JSON)


def _outcome(error: FhirError) -> HttpResponse:
    response = fhir_response(operation_outcome(error.issues), error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


def _accepts_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "").strip()
    if not accept:
        return True
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(kinds & set(JSON_TYPES))


def preferences(request: HttpRequest) -> dict[str, str]:
    """``Prefer: return=minimal, handling=lenient`` -> {"return": "minimal", "handling": "lenient"}."""
    found = {}
    for part in request.headers.get("Prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def fhir_endpoint(
    scope: Scope | Mapping[str, Scope] | None, methods: tuple[str, ...] = ("GET",)
) -> Callable[[View], View]:
    """Authenticate (unless ``scope`` is None; a mapping gives each method its scope) and
    answer every failure as an OperationOutcome. HEAD answers as GET without a body;
    OPTIONS answers with the methods allowed."""

    def decorator(view: View) -> View:
        @csrf_exempt  # bearer tokens only: no cookie is ever trusted here
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            method = cast(str, request.method)
            allowed = _allowed(methods, kwargs.get("type_name"))
            if method == "OPTIONS":
                response = HttpResponse(status=200)
                response["Allow"] = ", ".join(allowed)
                return response
            response = _answer(view, request, method, args, kwargs)
            if method not in allowed:
                response["Allow"] = ", ".join(allowed)
            if method == "HEAD":
                length = len(response.content)
                response.content = b""
                response["Content-Length"] = str(length)
            return response

        def _answer(
            view: View, request: HttpRequest, method: str, args: Any, kwargs: Any
        ) -> HttpResponse:
            try:
                if method not in _allowed(methods, kwargs.get("type_name")):
                    raise FhirError.simple(405, f"use {' or '.join(methods)} here", "not-supported")
                if request.GET.get("_format", "json") not in (
                    "json",
                    "application/fhir+json",
                    "application/json",
                ) or not _accepts_json(request):
                    raise FhirError.simple(406, "only JSON is served", "not-supported", "_format")
                wanted = (
                    scope.get(method, scope.get("GET")) if isinstance(scope, Mapping) else scope
                )
                if wanted is not None:
                    authenticate(request, wanted)
                return view(request, *args, **kwargs)
            except FhirError as error:
                return _outcome(error)
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


def _allowed(methods: tuple[str, ...], type_name: str | None) -> list[str]:
    """The methods a route answers; a type's POST (create) only where it can be created."""
    if type_name is not None and type_name not in services.IMPORTABLE:
        methods = tuple(m for m in methods if m != "POST")
    return [*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"]


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:transaction"))


@fhir_endpoint(scope=None)
def metadata(request: HttpRequest) -> HttpResponse:
    statement = capability_statement(
        base_url(request), timezone.now().date().isoformat(), oauth_uris(request)
    )
    return fhir_response(statement)


@fhir_endpoint(scope=None, methods=ANY_METHOD)
def unknown(request: HttpRequest, rest: str, root: bool = False) -> HttpResponse:
    """Anything under the base that nothing serves: a 404 saying what is not supported."""
    head = rest.split("/", 1)[0]
    if root:
        message = "the FHIR R4 base is /fhir/R4/ (its CapabilityStatement: /fhir/R4/metadata)"
    elif "_history" in rest.split("/"):
        message = "only the current version of a resource is kept: read it, or [type]/[id]/_history/[versionId] for that version"
    elif any(part.startswith("$") for part in rest.split("/")):
        operation = next(part for part in rest.split("/") if part.startswith("$"))
        message = f"the operation {operation} is not supported here; see the CapabilityStatement (metadata)"
    elif head[:1].isupper() and head not in REGISTRY:
        message = f"{head} is not served; served types: {', '.join(sorted(REGISTRY))}"
    else:
        message = (
            f"nothing is served at {rest or 'this address'}; see the CapabilityStatement (metadata)"
        )
    raise FhirError.simple(404, message, "not-supported")


def _search_params(
    query: QueryDict, resource_type: ResourceType, lenient: bool = False
) -> list[tuple[SearchParam, str]]:
    """Each (parameter, value) of the query; an unknown parameter is a 400 naming it
    (ignored when the client prefers lenient handling)."""
    chosen, issues = [], []
    for name, values in query.lists():
        if name in CONTROL_PARAMS:
            continue
        param = resource_type.param(name)
        if param is None:
            if lenient:
                continue
            known = ", ".join(p.name for p in resource_type.all_params())
            issues.append(
                Issue(
                    f"unknown search parameter {name}; {resource_type.name} supports {known}",
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
    wanted = ("_id",) if resource_type.name == "Patient" else ("patient", "subject")
    return {patient_ref(part) for p, raw in params if p.name in wanted for part in raw.split(",")}


def _audit_read(
    request: HttpRequest,
    resource_type: ResourceType,
    rows: list[Any],
    action: Action = Action.VIEW,
    **detail: Any,
) -> None:
    """One event for everything this request showed of patients' records."""
    named = resource_type.names_patients or (lambda row: [])
    patients = sorted(
        {pk for pk in (resource_type.patient_of(row) for row in rows) if pk is not None}
        | {pk for row in rows for pk in named(row)}
    )
    if not patients:
        return
    audit.record(
        request=request,
        action=action,
        patient_id=patients[0] if len(patients) == 1 else None,
        object_type=f"fhir.{resource_type.name}",
        object_id=resource_type.id_of(rows[0]) if len(rows) == 1 else "",
        detail={
            "via": "fhir",
            "count": len(rows),
            "patients": patients,
            **smart_auth.audit_detail(request),
            **detail,
        },
    )


def _matching(
    request: HttpRequest, resource_type: ResourceType, query: QueryDict, lenient: bool = False
) -> Rows:
    """The rows the caller may see that match ``query``'s search parameters."""
    try:
        params = _search_params(query, resource_type, lenient)
        limited = is_patient(request) or smart_auth.smart_token(request) is not None
        named = _named_patients(resource_type, params) if limited else set()
    except SearchValueError as error:
        raise FhirError.simple(400, str(error), "value") from error
    return _applied(readable_rows(request, resource_type, named), params)


def _applied(rows: Rows, params: list[tuple[SearchParam, str]]) -> Rows:
    for param, value in params:
        try:
            rows = param.apply(rows, value)
        except SearchValueError as error:
            raise FhirError.simple(400, str(error), "value", param.name) from error
    return rows


def filtered(resource_type: ResourceType, rows: Rows, query: QueryDict) -> Rows:
    """``rows`` narrowed by ``query``'s search parameters, exactly as a search narrows them,
    for work done without a request (a bulk export's ``_typeFilter``). The caller decides
    what ``rows`` may hold. A result parameter (``_sort``, ``_include``, ...), an unknown
    parameter or an unreadable value is a 400 naming it; building the filter reads nothing."""
    controls = sorted(name for name in query if name in CONTROL_PARAMS)
    if controls:
        raise FhirError.simple(
            400,
            f"{', '.join(controls)} shapes a search's answer and cannot filter an export",
            "not-supported",
            controls[0],
        )
    try:
        params = _search_params(query, resource_type)
    except SearchValueError as error:
        raise FhirError.simple(400, str(error), "value") from error
    return _applied(rows, params)


def _sorted(resource_type: ResourceType, rows: Rows, raw: str | None) -> Rows:
    """``_sort=-date,_id``: the named orders, each a date or id this type serves."""
    if not raw:
        return rows
    fields = resource_type.sort_fields()
    order = []
    for part in raw.split(","):
        name = part.strip().removeprefix("-")
        if name not in fields:
            raise FhirError.simple(
                400,
                f"cannot sort by {name or 'nothing'}; {resource_type.name} sorts by {', '.join(fields)}",
                "not-supported",
                "_sort",
            )
        order.append(("-" if part.strip().startswith("-") else "") + fields[name])
    if not isinstance(rows, list):  # a queryset, or the rows of several sources
        return rows.order_by(*order, "pk")
    for field_name in reversed(order):  # definitions: only _id (their key) is offered
        rows = sorted(rows, key=lambda d: d.key, reverse=field_name.startswith("-"))
    return rows


def _choice(request: HttpRequest, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.GET.get(name, default)
    if value not in allowed:
        raise FhirError.simple(
            400, f"{name} must be one of {', '.join(allowed)}", "not-supported", name
        )
    return value


def _element_names(request: HttpRequest) -> set[str] | None:
    raw = request.GET.get("_elements")
    if raw is None:
        return None
    names = {part.strip() for part in raw.split(",")}
    if not all(name.isalpha() for name in names):
        raise FhirError.simple(
            400, "_elements lists top-level element names (status,code)", "value", "_elements"
        )
    return names


SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}


def _only(resource_type: ResourceType, resource: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The resource with only the named elements (and those every reader needs)."""
    keep = {"resourceType", "id", "meta", *names}
    out = {
        key: value
        for key, value in resource.items()
        if key in keep or any(key.startswith(m) for m in resource_type.mandatory)
    }
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    return {**out, "meta": meta}


@fhir_endpoint(scope={"GET": Scope.FHIR_READ, "POST": Scope.FHIR_WRITE}, methods=("GET", "POST"))
def search(request: HttpRequest, type_name: str) -> HttpResponse:
    """GET: search the type. POST: create one (Patient and QuestionnaireResponse)."""
    resource_type = REGISTRY[type_name]
    if request.method == "POST":
        return _create(request, resource_type)
    try:
        count = parse_count(request.GET.get("_count"))
    except SearchValueError as error:
        raise FhirError.simple(400, str(error), "value", "_count") from error
    try:
        offset = parse_offset(request.GET.get("_offset"))
    except SearchValueError as error:
        raise FhirError.simple(400, str(error), "value", "_offset") from error
    summary = _choice(request, "_summary", SUMMARIES, "false")
    total_mode = _choice(request, "_total", TOTALS, "accurate")
    elements = _element_names(request)
    lenient = preferences(request).get("handling") == "lenient"
    wanted_includes = includes.parse_includes(resource_type, request.GET)
    rows = _sorted(
        resource_type,
        _matching(request, resource_type, request.GET, lenient),
        request.GET.get("_sort"),
    )
    total = len(rows) if isinstance(rows, list) else rows.count()
    page = [] if summary == "count" or count == 0 else list(rows[offset : offset + count])
    resources = stamped(resource_type, page)
    if elements is not None:
        resources = [_only(resource_type, r, elements) for r in resources]
    extra = _included(request, resource_type, page, wanted_includes)  # audits the page too
    if page or (count and summary != "count"):
        links = page_links(
            request.build_absolute_uri(request.path),
            [(k, v) for k, vs in request.GET.lists() for v in vs],
            offset,
            count,
            total,
        )
    else:  # the total only: no pages to follow
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
    bundle = searchset(resources, base=base_url(request), total=total, links=links, included=extra)
    if total_mode == "none":
        del bundle["total"]
    return fhir_response(bundle)


def _included(
    request: HttpRequest,
    resource_type: ResourceType,
    page: list[Any],
    wanted: list[includes.Include],
) -> list[dict[str, Any]]:
    """The resources ``_include``/``_revinclude`` add to the page, each include audited.

    Every include is read before any is audited, so a refused one records only its denial."""
    found = [(i, includes.included_rows(request, resource_type, page, i)) for i in wanted]
    _audit_read(request, resource_type, page, search=request.GET.urlencode()[:200])
    out: list[dict[str, Any]] = []
    for include, rows in found:
        _audit_read(request, include.found, rows, included=include.value)
        out += stamped(include.found, rows)
    return out


def _http_date(moment: Any) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _versioned(request: HttpRequest, resource: dict[str, Any], status: int = 200) -> HttpResponse:
    """``resource`` with its ETag and Last-Modified, or 304 when the client's copy is current."""
    version = resource["meta"]["versionId"]
    changed = last_updated(resource)
    headers = {"ETag": f'W/"{version}"'}
    if changed is not None:
        headers["Last-Modified"] = _http_date(changed)
    if status == 200 and _not_modified(request, version, changed):
        response = HttpResponse(status=304)
    else:
        response = fhir_response(resource, status)
    for name, value in headers.items():
        response[name] = value
    return response


def _not_modified(request: HttpRequest, version: str, changed: Any) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/").strip('"') for tag in match.split(",")}
        return "*" in tags or version in tags
    since = request.headers.get("If-Modified-Since")
    if since is None or changed is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return moment.tzinfo is not None and changed.replace(microsecond=0) <= moment


def _current(
    request: HttpRequest, resource_type: ResourceType, resource_id: str
) -> tuple[Any, dict[str, Any]]:
    row = readable_row(request, resource_type, resource_id)
    return row, stamped(resource_type, [row])[0]


@fhir_endpoint(scope=Scope.FHIR_READ)
def read(request: HttpRequest, type_name: str, resource_id: str) -> HttpResponse:
    resource_type = REGISTRY[type_name]
    row, resource = _current(request, resource_type, resource_id)
    _audit_read(request, resource_type, [row])
    return _versioned(request, resource)


@fhir_endpoint(scope=Scope.FHIR_READ)
def vread(request: HttpRequest, type_name: str, resource_id: str, version_id: str) -> HttpResponse:
    """The current version by its id; earlier versions are not kept (404)."""
    resource_type = REGISTRY[type_name]
    row, resource = _current(request, resource_type, resource_id)
    if resource["meta"]["versionId"] != version_id:
        raise FhirError.simple(
            404,
            f"version {version_id} of {type_name}/{resource_id} is not kept; "
            f"the current version is {resource['meta']['versionId']}",
            "not-found",
        )
    _audit_read(request, resource_type, [row])
    return _versioned(request, resource)


@fhir_endpoint(scope=Scope.FHIR_READ)
def everything(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient and every resource of their compartment the caller may read (one export
    event). A type the caller's roles cannot read on its own (a prescriber and Claim) is
    left out, named in the audit event and in an outcome entry of the Bundle."""
    patient = everything_patient(request, patient_id)
    resources = stamped(REGISTRY["Patient"], [patient])
    counts, left_out = {}, []
    for resource_type in REGISTRY.values():
        if resource_type.patient_field is None or resource_type.name == "Patient":
            continue
        if not may_read_type(request, resource_type):
            left_out.append(resource_type.name)
            continue
        rows = in_compartment(resource_type, resource_type.rows(patient.clinic), patient.pk)
        rendered = stamped(resource_type, list(rows))
        counts[resource_type.name] = len(rendered)
        resources += rendered
    audit.record(
        request=request,
        action=Action.EXPORT,
        patient_id=patient.pk,
        obj=patient,
        detail={
            "via": "fhir",
            "operation": "$everything",
            "counts": counts,
            "left_out": left_out,
            **smart_auth.audit_detail(request),
        },
    )
    bundle = searchset(resources, base=base_url(request), total=len(resources))
    if left_out:
        note = f"left out, as your role cannot read them: {', '.join(left_out)}"
        outcome = operation_outcome([Issue(note, "", "suppressed", "information")])
        bundle["entry"].append({"resource": outcome, "search": {"mode": "outcome"}})
    return fhir_response(bundle)


def _json_body(request: HttpRequest, what: str) -> Any:
    try:
        body = load_json(request.body, what)
        if (where := nul_path(body, what)) is not None:
            # PostgreSQL text cannot hold NUL; refuse it by name before anything is stored.
            raise FhirError.simple(400, "text must not contain NUL characters", "value", where)
        return body
    except RequestDataTooBig as error:
        raise FhirError.simple(
            413, f"the {what} is too large; send it in smaller batches", "too-costly"
        ) from error
    except BadParameter as error:
        raise FhirError.simple(400, error.message, "structure", error.field) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise FhirError.simple(400, "the body is not JSON", "structure", what) from error


def _created(
    request: HttpRequest, resource_type: ResourceType, resource_id: str, status: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a create answers: the stored resource and its entry ``response`` fields."""
    rows = resource_type.rows(request.clinic)  # type: ignore[attr-defined]
    resource = stamped(resource_type, [resource_type.lookup(rows, resource_id)])[0]
    meta = resource["meta"]
    entry = {
        "status": f"{status} {REASONS[status]}",
        "location": f"{resource_type.name}/{resource_id}/_history/{meta['versionId']}",
        "etag": f'W/"{meta["versionId"]}"',
    }
    if "lastUpdated" in meta:
        entry["lastModified"] = meta["lastUpdated"]
    return resource, entry


def _create_one(
    request: HttpRequest, resource_type: ResourceType, resource: Any, if_none_exist: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create ``resource`` (or find the one ``if_none_exist`` names): (resource, response)."""
    clinic = require_perm(request, services.IMPORTABLE[resource_type.name])
    if if_none_exist:
        found = list(
            _matching(request, resource_type, QueryDict(if_none_exist.removeprefix("?")))[:2]
        )
        if len(found) > 1:
            raise FhirError.simple(
                412, "more than one resource matches If-None-Exist", "duplicate", "If-None-Exist"
            )
        if found:  # shown to the client: a read of that record
            _audit_read(request, resource_type, found, matched=if_none_exist[:200])
            return _created(request, resource_type, str(found[0].pk), 200)
    if not isinstance(resource, Mapping) or resource.get("resourceType") != resource_type.name:
        raise FhirError.simple(
            400, f"the body must be a {resource_type.name}", "structure", "resourceType"
        )
    by = cast(User, request.user)  # a token always acts as a signed-in user
    location = services.create_resource(clinic=clinic, resource=resource, by=by, request=request)
    return _created(request, resource_type, location.split("/")[1], 201)


def _create(request: HttpRequest, resource_type: ResourceType) -> HttpResponse:
    if resource_type.name not in services.IMPORTABLE:
        raise FhirError.simple(405, f"{resource_type.name} cannot be created here", "not-supported")
    body = _json_body(request, resource_type.name)
    resource, entry = _create_one(
        request, resource_type, body, request.headers.get("If-None-Exist")
    )
    status = int(entry["status"].split()[0])
    wanted = preferences(request).get("return", "representation")
    if wanted == "minimal":
        response = fhir_response(None, status)
    elif wanted == "OperationOutcome":
        note = "created" if status == 201 else "an existing resource matches If-None-Exist"
        response = fhir_response(
            operation_outcome(
                [
                    Issue(
                        f"{resource_type.name}/{resource['id']} {note}",
                        "",
                        "informational",
                        "information",
                    )
                ]
            ),
            status,
        )
    else:
        response = fhir_response(resource, status)
    response["Location"] = base_url(request) + entry["location"]
    response["ETag"] = entry["etag"]
    if "lastModified" in entry:
        response["Last-Modified"] = _http_date(last_updated(resource))
    return response


def _batch(request: HttpRequest, bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Each entry on its own: created, found (ifNoneExist) or refused with its own outcome."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not entries:
        raise FhirError.simple(400, "a batch needs at least one entry", "required", "Bundle.entry")
    if len(entries) > services.MAX_ENTRIES:
        raise FhirError.simple(
            413, f"at most {services.MAX_ENTRIES} entries per Bundle", "too-costly", "Bundle.entry"
        )
    out = []
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}]"
        try:
            out.append({"response": _batch_entry(request, entry, path)})
        except FhirError as error:
            out.append(
                {"response": _failed(error.status, [_in_entry(i, path) for i in error.issues])}
            )
        except PermissionDenied as error:
            out.append(
                {"response": _failed(403, [Issue(str(error) or "forbidden", path, "forbidden")])}
            )
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _in_entry(issue: Issue, path: str) -> Issue:
    """An issue of one batch entry, placed on that entry (``Patient.x`` -> ``...resource.x``)."""
    for name in services.IMPORTABLE:
        if issue.expression == name or issue.expression.startswith(f"{name}."):
            rest = issue.expression.removeprefix(name)
            return Issue(issue.message, f"{path}.resource{rest}", issue.code, issue.severity)
    return issue.under(path)


def _failed(status: int, issues: list[Issue]) -> dict[str, Any]:
    return {
        "status": f"{status} {REASONS.get(status, '')}".strip(),
        "outcome": operation_outcome(issues),
    }


def _batch_entry(request: HttpRequest, entry: Any, path: str) -> dict[str, Any]:
    asked = entry.get("request") if isinstance(entry, Mapping) else None
    if not isinstance(asked, Mapping) or asked.get("method") != "POST":
        raise FhirError.simple(
            400, "only POST (create) entries are supported", "not-supported", "request.method"
        )
    name = asked.get("url")
    if name not in services.IMPORTABLE:
        raise FhirError.simple(
            400,
            f"request.url must be one of {', '.join(services.IMPORTABLE)}",
            "not-supported",
            "request.url",
        )
    condition = asked.get("ifNoneExist")
    if condition is not None and not isinstance(condition, str):
        raise FhirError.simple(400, "must be a search query", "value", "request.ifNoneExist")
    _, response = _create_one(request, REGISTRY[name], entry.get("resource"), condition)
    return response


@fhir_endpoint(scope=Scope.FHIR_WRITE, methods=("POST",))
def transaction(request: HttpRequest) -> HttpResponse:
    """Import a transaction Bundle (all of it or nothing) or a batch (each entry on its own).

    Patients need the demographics permission, QuestionnaireResponses the measures one;
    a token holding neither is refused before its body is read.
    """
    if not any(has_perm(request, perm) for perm in services.IMPORTABLE.values()):
        require_perm(request, Perm.EDIT_DEMOGRAPHICS)  # a recorded 403
    bundle = _json_body(request, "Bundle")
    if (
        isinstance(bundle, Mapping)
        and bundle.get("resourceType") == "Bundle"
        and bundle.get("type") == "batch"
    ):
        return fhir_response(_batch(request, bundle))
    clinic = request.clinic  # type: ignore[attr-defined]
    for perm in services.required_perms(bundle):
        clinic = require_perm(request, perm)
    by = cast(User, request.user)  # a token always acts as a signed-in user
    response = services.import_transaction(clinic=clinic, bundle=bundle, by=by, request=request)
    return fhir_response(response)
