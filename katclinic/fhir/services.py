"""Importing a transaction Bundle: validate every entry, then store all of it or nothing.

A Bundle may create Patients and QuestionnaireResponses. Each entry is checked
structurally (``katclinic.fhir.validation``: the ``fhir.resources`` R4B model names every
failing element) and
by the pure mapping that turns it into field values (required fields, codes, lengths,
record-number clashes, answers against the instrument's items). A response's subject is
an existing patient of the clinic (``Patient/<id>``) or a Patient entry of the same
Bundle (its ``fullUrl``, usually ``urn:uuid:...``). Any issue in any entry refuses the
whole Bundle with an OperationOutcome naming the entry and element, and nothing is stored.

An accepted Bundle is written in one transaction: Patients with multi-row inserts and
one audit event each (batched on the clinic's chain), then each response through the
measures app's ``submit_response``, so scoring, safety alerts and its audit event happen
exactly as for any other submission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir import providers  # noqa: F401 - providers fill the registry
from katclinic.fhir.bundle import transaction_response
from katclinic.fhir.outcome import FhirError, InvalidResource, Issue
from katclinic.fhir.registry import REGISTRY
from katclinic.fhir.resources.patient import from_fhir_patient
from katclinic.fhir.resources.questionnaire_response import from_fhir_questionnaire_response
from katclinic.fhir.validation import structure_issues
from katclinic.fhir.versions import stamped
from katclinic.lib.bulk import insert_rows
from katclinic.lib.jsonvalue import JSONObject, JSONValue
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.models import Response, Source
from katclinic.measures.scoring import InstrumentDefinition
from katclinic.measures.services import SubmissionError, submit_response
from katclinic.patients.models import Patient
from katclinic.patients.services import MRN_PREFIX, next_mrn

MAX_ENTRIES = 5000
# What each importable type needs of the posting token's roles.
IMPORTABLE = {"Patient": Perm.EDIT_DEMOGRAPHICS, "QuestionnaireResponse": Perm.ENTER_MEASURES}


@dataclass
class _Entry:
    index: int
    resource_type: str
    fields: dict[str, Any]
    full_url: str = ""
    # For a response: the patient it is about, once resolved (an id, or a Patient entry's index).
    patient_id: int | None = None
    patient_entry: int | None = field(default=None)


def _entry_path(index: int) -> str:
    return f"Bundle.entry[{index}]"


def _nest(issues: Sequence[Issue], index: int, resource_type: str) -> list[Issue]:
    """Place a resource's issues under its entry: ``Patient.birthDate`` -> ``Bundle.entry[3].resource.birthDate``."""
    prefix = f"{_entry_path(index)}.resource"
    return [
        Issue(i.message, prefix + i.expression.removeprefix(resource_type), i.code, i.severity)
        for i in issues
    ]


def required_perms(bundle: object) -> list[Perm]:
    """The permissions the types in ``bundle`` call for (none for anything unreadable)."""
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    types = set()
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            types.add(resource.get("resourceType"))
    return [perm for name, perm in IMPORTABLE.items() if name in types]


def _bundle_entries(bundle: object) -> list[object]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise FhirError.simple(400, "expected a Bundle", "structure", "Bundle.resourceType")
    if bundle.get("type") != "transaction":
        raise FhirError.simple(400, "only transaction Bundles are accepted", "value", "Bundle.type")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not entries:
        raise FhirError.simple(
            400, "a transaction needs at least one entry", "required", "Bundle.entry"
        )
    if len(entries) > MAX_ENTRIES:
        raise FhirError.simple(
            413, f"at most {MAX_ENTRIES} entries per Bundle", "too-costly", "Bundle.entry"
        )
    return entries


class _Instruments:
    """The clinic's current definition of each instrument key, looked up once per Bundle."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.found: dict[str, InstrumentDefinition | None] = {}

    def __call__(self, key: str) -> InstrumentDefinition | None:
        if key not in self.found:
            instrument = current_instrument(key, self.clinic)
            self.found[key] = definition_of(instrument) if instrument is not None else None
        return self.found[key]


def _check_entry(
    index: int, entry: object, instruments: _Instruments
) -> tuple[_Entry | None, list[Issue]]:
    path = _entry_path(index)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
        return None, [Issue("each entry needs a resource", f"{path}.resource", "required")]
    resource = entry["resource"]
    resource_type = resource.get("resourceType")
    if resource_type not in IMPORTABLE:
        return None, [
            Issue(
                f"only {', '.join(IMPORTABLE)} can be imported",
                f"{path}.resource.resourceType",
                "not-supported",
            )
        ]
    issues = _request_issues(entry.get("request"), path, resource_type)
    full_url = entry.get("fullUrl", "")
    if not isinstance(full_url, str):
        issues.append(Issue("must be a string", f"{path}.fullUrl", "value"))
        full_url = ""
    if "id" in resource:
        issues.append(
            Issue("a created resource must not carry an id", f"{path}.resource.id", "value")
        )
    issues += _nest(structure_issues(resource, resource_type), index, resource_type)
    try:
        if resource_type == "Patient":
            fields = from_fhir_patient(resource)
        else:
            fields = from_fhir_questionnaire_response(resource, instruments)
    except InvalidResource as error:
        seen = {issue.expression for issue in issues}
        issues += [i for i in _nest(error.issues, index, resource_type) if i.expression not in seen]
        fields = {}
    return _Entry(index, resource_type, fields, full_url), issues


def _request_issues(request: object, path: str, resource_type: str) -> list[Issue]:
    if not isinstance(request, Mapping):
        return [Issue("each entry needs a request", f"{path}.request", "required")]
    issues = []
    if request.get("method") != "POST":
        issues.append(
            Issue("only POST (create) is supported", f"{path}.request.method", "not-supported")
        )
    if request.get("url") != resource_type:
        issues.append(Issue(f"must be {resource_type!r}", f"{path}.request.url", "value"))
    if "ifNoneExist" in request:
        issues.append(
            Issue(
                "conditional create is not part of a transaction here; send a batch Bundle "
                "or POST the resource with If-None-Exist",
                f"{path}.request.ifNoneExist",
                "not-supported",
            )
        )
    return issues


def _mrn_clashes(clinic: Clinic, entries: list[_Entry]) -> list[Issue]:
    """Record numbers already used in the clinic, or twice in the Bundle."""
    given = [(e.index, e.fields["mrn"]) for e in entries if "mrn" in e.fields]
    taken = set(
        Patient.objects.filter(clinic=clinic, mrn__in=[mrn for _, mrn in given]).values_list(
            "mrn", flat=True
        )
    )
    seen: set[str] = set()
    issues = []
    for index, mrn in given:
        if mrn in taken or mrn in seen:
            issues.append(
                Issue(
                    f"record number {mrn} is already in use",
                    f"{_entry_path(index)}.resource.identifier",
                    "duplicate",
                )
            )
        seen.add(mrn)
    return issues


def _link_subjects(clinic: Clinic, entries: list[_Entry]) -> list[Issue]:
    """Resolve each response's subject to a Patient entry of the Bundle or a patient of the clinic."""
    issues, by_url = [], {}
    for entry in entries:
        if entry.full_url and entry.full_url in by_url:
            issues.append(
                Issue(
                    "another entry has the same fullUrl",
                    f"{_entry_path(entry.index)}.fullUrl",
                    "duplicate",
                )
            )
        elif entry.full_url and entry.resource_type == "Patient":
            by_url[entry.full_url] = entry.index
    responses = [e for e in entries if e.resource_type == "QuestionnaireResponse" and e.fields]
    wanted = {}
    for entry in responses:
        reference = entry.fields["subject"]
        number = reference.removeprefix("Patient/")
        if reference in by_url:
            entry.patient_entry = by_url[reference]
        elif reference.startswith("Patient/") and (pk := optional_record(number)):
            wanted[entry.index] = pk
        else:
            issues.append(
                Issue(
                    "must be Patient/<id> of this clinic or the fullUrl of a Patient entry in this Bundle",
                    f"{_entry_path(entry.index)}.resource.subject.reference",
                    "not-found",
                )
            )
    known = set(
        Patient.objects.filter(clinic=clinic, pk__in=set(wanted.values())).values_list(
            "pk", flat=True
        )
    )
    for entry in responses:
        if entry.index not in wanted:
            continue
        if wanted[entry.index] in known:
            entry.patient_id = wanted[entry.index]
        else:
            issues.append(
                Issue(
                    f"{entry.fields['subject']} is not a patient of this clinic",
                    f"{_entry_path(entry.index)}.resource.subject.reference",
                    "not-found",
                )
            )
    return issues


def _future_answers(entries: list[_Entry]) -> list[Issue]:
    now = timezone.now()
    return [
        Issue("is in the future", f"{_entry_path(e.index)}.resource.authored", "value")
        for e in entries
        if e.fields.get("authored") is not None and e.fields["authored"] > now
    ]


def validate_transaction(clinic: Clinic, bundle: object) -> list[_Entry]:
    """Every entry's fields, or FhirError 422 listing every issue in every entry."""
    entries, issues = [], []
    instruments = _Instruments(clinic)
    for index, raw in enumerate(_bundle_entries(bundle)):
        entry, found = _check_entry(index, raw, instruments)
        issues += found
        if entry is not None:
            entries.append(entry)
    patients = [e for e in entries if e.resource_type == "Patient"]
    issues += (
        _mrn_clashes(clinic, patients) + _link_subjects(clinic, entries) + _future_answers(entries)
    )
    if issues:
        raise FhirError(422, sorted(issues, key=_entry_order))
    return entries


def _entry_order(issue: Issue) -> tuple[int, str]:
    """Issues in the order of the entries they name (a number, not text: entry[10] after entry[9])."""
    head = issue.expression.removeprefix("Bundle.entry[")
    number = head.split("]", 1)[0]
    return (optional_record(number) or -1, issue.expression)


def import_transaction(
    *, clinic: Clinic, bundle: object, by: User, request: HttpRequest | None = None
) -> dict[str, JSONValue]:
    """Validate and store a transaction Bundle; return the transaction-response Bundle."""
    locations = _import(clinic=clinic, bundle=bundle, by=by, request=request)
    return transaction_response([(location, _meta(clinic, location)) for location in locations])


def _meta(clinic: Clinic, location: str) -> JSONObject:
    """The ``meta`` (version) of the resource just stored at ``location`` (``Patient/12``)."""
    name, pk = location.split("/")
    resource_type = REGISTRY[name]
    row = resource_type.lookup(resource_type.rows(clinic), pk)
    return dict(stamped(resource_type, [row])[0]["meta"])


def create_resource(
    *, clinic: Clinic, resource: Mapping[str, object], by: User, request: HttpRequest | None = None
) -> str:
    """Create one Patient or QuestionnaireResponse exactly as a one-entry transaction would;
    return its location (``Patient/12``). Issues name the resource's own elements."""
    name = str(resource.get("resourceType"))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": resource, "request": {"method": "POST", "url": name}}],
    }
    try:
        return _import(clinic=clinic, bundle=bundle, by=by, request=request)[0]
    except FhirError as error:
        prefix = f"{_entry_path(0)}.resource"
        raise FhirError(
            error.status,
            [
                Issue(i.message, name + i.expression.removeprefix(prefix), i.code, i.severity)
                if i.expression.startswith(prefix)
                else i
                for i in error.issues
            ],
        ) from error


def _import(*, clinic: Clinic, bundle: object, by: User, request: HttpRequest | None) -> list[str]:
    """Store a transaction Bundle; each entry's location, in the Bundle's order."""
    entries = validate_transaction(clinic, bundle)
    patients = [e for e in entries if e.resource_type == "Patient"]
    locations: dict[int, str] = {}
    try:
        with transaction.atomic():
            keys = _create_patients(clinic, [e.fields for e in patients])
            audit.record_many(
                request=request,
                user=by,
                action=Action.CREATE,
                clinic_id=clinic.pk,
                targets=[(pk, audit.Ref(Patient._meta.label_lower, pk)) for pk in keys],
                detail={"via": "fhir"},
            )
            created = {e.index: pk for e, pk in zip(patients, keys, strict=True)}
            locations |= {index: f"Patient/{pk}" for index, pk in created.items()}
            responses = [e for e in entries if e.resource_type == "QuestionnaireResponse"]
            for entry in responses:
                if entry.patient_id is None and entry.patient_entry is not None:
                    entry.patient_id = created[entry.patient_entry]
            locations |= _submit_responses(clinic, responses, by, request)
    except IntegrityError as error:
        # Another import took a record number between validation and insert.
        raise FhirError.simple(
            409, "a record number was taken meanwhile; send the Bundle again", "conflict"
        ) from error
    return [locations[e.index] for e in entries]


def _submit_responses(
    clinic: Clinic, entries: list[_Entry], by: User, request: HttpRequest | None
) -> dict[int, str]:
    """Store each response as a submission (scored, checked for safety, audited); any refusal undoes the Bundle."""
    if not entries:
        return {}
    # Every subject was resolved by validation, or is a patient this Bundle just created.
    wanted = {e.patient_id for e in entries if e.patient_id is not None}
    patients = Patient.objects.filter(clinic=clinic).in_bulk(wanted)
    locations = {}
    for entry in entries:
        try:
            response = submit_response(
                patient=patients[entry.patient_id or 0],
                instrument_key=entry.fields["instrument_key"],
                answers=entry.fields["answers"],
                source=Source.API,
                submitted_by=by,
                request=request,
                comment=entry.fields["comment"],
            )
        except SubmissionError as error:
            raise FhirError(
                422, [_answer_issue(entry, e.link_id, e.message) for e in error.errors]
            ) from error
        if entry.fields["authored"] is not None:
            # When the patient answered, as the source system recorded it.
            Response.objects.filter(pk=response.pk).update(submitted_at=entry.fields["authored"])
        locations[entry.index] = f"QuestionnaireResponse/{response.pk}"
    return locations


def _answer_issue(entry: _Entry, link_id: str, message: str) -> Issue:
    """An issue the measures app found with one answer, placed on that item of the entry."""
    items = entry.fields.get("items", {})
    where = f".item[{items[link_id]}]" if link_id in items else ".item"
    if link_id == "comment":
        where = ".extension"
    return Issue(f"{link_id}: {message}", f"{_entry_path(entry.index)}.resource{where}", "value")


def _create_patients(clinic: Clinic, rows: Sequence[Mapping[str, object]]) -> list[int]:
    """Insert in one statement per batch, numbering records without one after the clinic's last."""
    if not rows:
        return []
    number = int(next_mrn(clinic).removeprefix(MRN_PREFIX))
    given = {fields["mrn"] for fields in rows if "mrn" in fields}
    values = []
    for fields in rows:
        if "mrn" not in fields:
            while f"{MRN_PREFIX}{number:06d}" in given:
                number += 1
            fields = {**fields, "mrn": f"{MRN_PREFIX}{number:06d}"}
            number += 1
        values.append({**fields, "clinic_id": clinic.pk})
    return insert_rows(Patient, values)


def optional_record(raw: str) -> int | None:
    """The record number written in `raw`, or None if it is not one."""
    try:
        return parse_id(raw, "reference")
    except BadParameter:
        return None
