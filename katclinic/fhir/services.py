"""Importing a transaction Bundle: validate every entry, then store all of it or nothing.

Each entry is checked twice: structurally by the ``fhir.resources`` R4B model of its
type, and by the pure mapping that turns it into field values (required fields, codes,
lengths, record-number clashes). Any issue in any entry refuses the whole Bundle with
an OperationOutcome naming the entry and element. An accepted Bundle is written with
bulk inserts and one audit event per created resource, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.fhir.bulk import insert_rows
from katclinic.fhir.bundle import transaction_response
from katclinic.fhir.outcome import FhirError, InvalidResource, Issue
from katclinic.fhir.resources.patient import from_fhir_patient
from katclinic.fhir.validation import structure_issues
from katclinic.patients.models import Patient
from katclinic.patients.services import MRN_PREFIX, next_mrn

MAX_ENTRIES = 5000
IMPORTABLE = ("Patient",)


@dataclass(frozen=True)
class _Created:
    """What an audit event names of a row inserted without a model instance."""

    pk: int
    _meta: Any


@dataclass
class _Entry:
    index: int
    resource_type: str
    fields: dict[str, Any]


def _entry_path(index: int) -> str:
    return f"Bundle.entry[{index}]"


def _nest(issues: Sequence[Issue], index: int, resource_type: str) -> list[Issue]:
    """Place a resource's issues under its entry: ``Patient.birthDate`` -> ``Bundle.entry[3].resource.birthDate``."""  # fmt: skip
    prefix = f"{_entry_path(index)}.resource"
    return [
        Issue(i.message, prefix + i.expression.removeprefix(resource_type), i.code, i.severity)
        for i in issues
    ]


def _bundle_entries(bundle: Any) -> list[Mapping[str, Any]]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise FhirError.simple(400, "expected a Bundle", "structure", "Bundle.resourceType")
    if bundle.get("type") != "transaction":
        raise FhirError.simple(400, "only transaction Bundles are accepted", "value", "Bundle.type")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not entries:
        raise FhirError.simple(400, "a transaction needs at least one entry", "required", "Bundle.entry")  # fmt: skip
    if len(entries) > MAX_ENTRIES:
        raise FhirError.simple(413, f"at most {MAX_ENTRIES} entries per Bundle", "too-costly", "Bundle.entry")  # fmt: skip
    return entries


def _check_entry(index: int, entry: Any) -> tuple[_Entry | None, list[Issue]]:
    path = _entry_path(index)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
        return None, [Issue("each entry needs a resource", f"{path}.resource", "required")]
    resource = entry["resource"]
    resource_type = resource.get("resourceType")
    if resource_type not in IMPORTABLE:
        return None, [Issue(f"only {', '.join(IMPORTABLE)} can be imported", f"{path}.resource.resourceType", "not-supported")]  # fmt: skip
    issues = _request_issues(entry.get("request"), path, resource_type)
    if "id" in resource:
        issues.append(Issue("a created resource must not carry an id", f"{path}.resource.id", "value"))  # fmt: skip
    issues += _nest(structure_issues(resource, resource_type), index, resource_type)
    try:
        fields = from_fhir_patient(resource)
    except InvalidResource as error:
        seen = {issue.expression for issue in issues}
        issues += [i for i in _nest(error.issues, index, resource_type) if i.expression not in seen]
        fields = {}
    return _Entry(index, resource_type, fields), issues


def _request_issues(request: Any, path: str, resource_type: str) -> list[Issue]:
    if not isinstance(request, Mapping):
        return [Issue("each entry needs a request", f"{path}.request", "required")]
    issues = []
    if request.get("method") != "POST":
        issues.append(Issue("only POST (create) is supported", f"{path}.request.method", "not-supported"))  # fmt: skip
    if request.get("url") != resource_type:
        issues.append(Issue(f"must be {resource_type!r}", f"{path}.request.url", "value"))
    return issues


def _mrn_clashes(clinic: Clinic, entries: list[_Entry]) -> list[Issue]:
    """Record numbers already used in the clinic, or twice in the Bundle."""
    given = [(e.index, e.fields["mrn"]) for e in entries if "mrn" in e.fields]
    taken = set(Patient.objects.filter(clinic=clinic, mrn__in=[mrn for _, mrn in given]).values_list("mrn", flat=True))  # fmt: skip
    seen: set[str] = set()
    issues = []
    for index, mrn in given:
        if mrn in taken or mrn in seen:
            issues.append(Issue(f"record number {mrn} is already in use", f"{_entry_path(index)}.resource.identifier", "duplicate"))  # fmt: skip
        seen.add(mrn)
    return issues


def validate_transaction(clinic: Clinic, bundle: Any) -> list[_Entry]:
    """Every entry's fields, or FhirError 422 listing every issue in every entry."""
    entries, issues = [], []
    for index, raw in enumerate(_bundle_entries(bundle)):
        entry, found = _check_entry(index, raw)
        issues += found
        if entry is not None:
            entries.append(entry)
    issues += _mrn_clashes(clinic, entries)
    if issues:
        raise FhirError(422, issues)
    return entries


def import_transaction(
    *, clinic: Clinic, bundle: Any, by: User, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Validate and store a transaction Bundle; return the transaction-response Bundle."""
    entries = validate_transaction(clinic, bundle)
    try:
        with transaction.atomic():
            keys = _create_patients(clinic, [e.fields for e in entries])
            audit.record_many(request=request, user=by, action=Action.CREATE, clinic_id=clinic.pk,
                              targets=[(pk, _Created(pk, Patient._meta)) for pk in keys], detail={"via": "fhir"})  # fmt: skip
    except IntegrityError as error:
        # Another import took a record number between validation and insert.
        raise FhirError.simple(409, "a record number was taken meanwhile; send the Bundle again", "conflict") from error  # fmt: skip
    return transaction_response([f"Patient/{pk}" for pk in keys])


def _create_patients(clinic: Clinic, rows: list[dict[str, Any]]) -> list[int]:
    """Insert in one statement per batch, numbering records without one after the clinic's last."""
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
