"""Patient <-> FHIR Patient (R4; checked against the R4B models, identical for Patient).

The record number travels as an identifier in ``MRN_SYSTEM`` with type MR. The record
keeps one sex field (sex at birth), sent as ``gender`` since its four codes are the
same; the treatment stage and pronouns travel as extensions. The responsible clinician
and the portal account stay inside KAT Clinic (no Practitioner or RelatedPerson here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from katclinic.fhir.outcome import InvalidResource, Issue

if TYPE_CHECKING:
    from katclinic.patients.models import Patient

MRN_SYSTEM = "urn:katclinic:mrn"
MR_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "MR",
            "display": "Medical record number",
        }
    ]
}
STAGE_URL = "urn:katclinic:fhir:extension:treatment-stage"
PRONOUNS_URL = "http://hl7.org/fhir/StructureDefinition/individual-pronouns"
GENDERS = ("female", "male", "other", "unknown")
STAGES = ("inquiry", "screening", "induction", "maintenance", "completed", "declined")
# Column lengths of katclinic.patients.models.Patient, checked before anything is stored.
MAX_LENGTHS = {
    "mrn": 20,
    "first_name": 100,
    "last_name": 100,
    "preferred_name": 100,
    "pronouns": 40,
    "email": 254,
    "phone": 40,
    "emergency_contact_name": 200,
    "emergency_contact_phone": 40,
    "emergency_contact_relationship": 60,
}
FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "preferred_name",
    "pronouns",
    "date_of_birth",
    "sex_at_birth",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "stage",
)
OPTIONAL_TEXT = (
    "preferred_name",
    "pronouns",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def to_fhir_patient(patient: Patient) -> dict[str, Any]:
    """The FHIR Patient for ``patient``; empty fields are left out."""
    names: list[dict[str, Any]] = [
        {"use": "official", "family": patient.last_name, "given": [patient.first_name]}
    ]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "extension": [{"url": STAGE_URL, "valueCode": patient.stage}],
        "identifier": [
            {"use": "usual", "type": MR_TYPE, "system": MRN_SYSTEM, "value": patient.mrn}
        ],
        "active": True,
        "name": names,
        "gender": patient.sex_at_birth,
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.pronouns:
        resource["extension"].append(_pronouns(patient.pronouns))
    telecom = [{"system": "phone", "value": patient.phone}] if patient.phone else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    if patient.address:
        resource["address"] = [{"text": patient.address}]
    contact = _emergency_contact(patient)
    if contact:
        resource["contact"] = [contact]
    return resource


def _pronouns(text: str) -> dict[str, Any]:
    return {
        "url": PRONOUNS_URL,
        "extension": [{"url": "value", "valueCodeableConcept": {"text": text}}],
    }


def _emergency_contact(patient: Patient) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    if patient.emergency_contact_relationship:
        contact["relationship"] = [{"text": patient.emergency_contact_relationship}]
    if patient.emergency_contact_name:
        contact["name"] = {"text": patient.emergency_contact_name}
    if patient.emergency_contact_phone:
        contact["telecom"] = [{"system": "phone", "value": patient.emergency_contact_phone}]
    return contact


class _Reader:
    """Collects issues while reading a resource, so that every problem is reported at once."""

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self.resource = resource
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str, code: str = "value") -> None:
        self.issues.append(Issue(message, path, code))

    def text(self, value: Any, path: str, field: str, required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.fail(path, "is required", "required")
            return ""
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return ""
        value = value.strip()
        limit = MAX_LENGTHS.get(field)
        if limit is not None and len(value) > limit:
            self.fail(path, f"must be at most {limit} characters")
        return value

    def entries(self, name: str) -> list[tuple[str, Mapping[str, Any]]]:
        value = self.resource.get(name, [])
        if not isinstance(value, list):
            self.fail(f"Patient.{name}", "must be a list")
            return []
        out = []
        for index, entry in enumerate(value):
            path = f"Patient.{name}[{index}]"
            if isinstance(entry, Mapping):
                out.append((path, entry))
            else:
                self.fail(path, "must be an object")
        return out


def from_fhir_patient(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Patient field values from a FHIR Patient; raise InvalidResource naming each bad element.

    The record number is left out when the resource has no identifier in ``MRN_SYSTEM``
    (the clinic assigns one).
    """
    reader = _Reader(resource)
    if resource.get("resourceType") != "Patient":
        reader.fail("Patient.resourceType", "must be 'Patient'")
    fields: dict[str, Any] = {}
    _read_identifier(reader, fields)
    _read_names(reader, fields)
    _read_birth_and_gender(reader, fields)
    _read_telecom(reader, fields)
    addresses = reader.entries("address")
    if addresses:
        fields["address"] = _address_text(reader, *addresses[0])
    _read_contact(reader, fields)
    _read_extensions(reader, fields)
    for name in OPTIONAL_TEXT:
        fields.setdefault(name, "")
    if reader.issues:
        raise InvalidResource(reader.issues)
    return fields


def _read_identifier(reader: _Reader, fields: dict[str, Any]) -> None:
    for path, identifier in reader.entries("identifier"):
        if identifier.get("system") == MRN_SYSTEM:
            mrn = reader.text(identifier.get("value"), f"{path}.value", "mrn", required=True)
            if mrn:
                fields["mrn"] = mrn
            return


def _read_names(reader: _Reader, fields: dict[str, Any]) -> None:
    names = reader.entries("name")
    official = next(((p, n) for p, n in names if n.get("use") in ("official", None)), None)
    if official is None:
        reader.fail("Patient.name", "needs an official name with family and given", "required")
        return
    path, name = official
    fields["last_name"] = reader.text(name.get("family"), f"{path}.family", "last_name", True)
    fields["first_name"] = reader.text(
        _first(reader, name, path), f"{path}.given", "first_name", True
    )
    usual = next(((p, n) for p, n in names if n.get("use") == "usual"), None)
    if usual is not None:
        path = usual[0]
        fields["preferred_name"] = reader.text(
            _first(reader, usual[1], path), f"{path}.given", "preferred_name"
        )


def _first(reader: _Reader, name: Mapping[str, Any], path: str) -> Any:
    given = name.get("given", [])
    if not isinstance(given, list):
        reader.fail(f"{path}.given", "must be a list")
        return None
    return " ".join(part for part in given if isinstance(part, str)) or None


def _read_birth_and_gender(reader: _Reader, fields: dict[str, Any]) -> None:
    born = reader.resource.get("birthDate")
    if not isinstance(born, str) or not _DATE.match(born):
        reader.fail("Patient.birthDate", "is required as a full date YYYY-MM-DD", "required")
    else:
        try:
            fields["date_of_birth"] = date.fromisoformat(born)
        except ValueError:
            reader.fail("Patient.birthDate", "is not a calendar date")
    gender = reader.resource.get("gender", "unknown")
    if gender not in GENDERS:
        reader.fail("Patient.gender", f"must be one of {', '.join(GENDERS)}", "code-invalid")
    else:
        fields["sex_at_birth"] = gender


def _read_telecom(reader: _Reader, fields: dict[str, Any]) -> None:
    for path, point in reader.entries("telecom"):
        system = point.get("system")
        if system == "phone" and "phone" not in fields:
            fields["phone"] = reader.text(point.get("value"), f"{path}.value", "phone", True)
        elif system == "email" and "email" not in fields:
            email = reader.text(point.get("value"), f"{path}.value", "email", True)
            if email and not _EMAIL.match(email):
                reader.fail(f"{path}.value", "is not an email address")
            fields["email"] = email


def _address_text(reader: _Reader, path: str, address: Mapping[str, Any]) -> str:
    if address.get("text") is not None:
        return reader.text(address.get("text"), f"{path}.text", "address")
    lines = address.get("line", [])
    parts = [*lines] if isinstance(lines, list) else []
    parts += [address.get(key) for key in ("city", "state", "postalCode", "country")]
    return reader.text(", ".join(p for p in parts if isinstance(p, str) and p), path, "address")


def _read_contact(reader: _Reader, fields: dict[str, Any]) -> None:
    contacts = reader.entries("contact")
    if not contacts:
        return
    path, contact = contacts[0]
    name = contact.get("name")
    if isinstance(name, Mapping):
        fields["emergency_contact_name"] = reader.text(
            name.get("text"), f"{path}.name.text", "emergency_contact_name"
        )
    relationship = contact.get("relationship")
    if isinstance(relationship, list) and relationship and isinstance(relationship[0], Mapping):
        fields["emergency_contact_relationship"] = reader.text(
            relationship[0].get("text"),
            f"{path}.relationship[0].text",
            "emergency_contact_relationship",
        )
    telecom = contact.get("telecom")
    if isinstance(telecom, list) and telecom and isinstance(telecom[0], Mapping):
        fields["emergency_contact_phone"] = reader.text(
            telecom[0].get("value"), f"{path}.telecom[0].value", "emergency_contact_phone"
        )


def _read_extensions(reader: _Reader, fields: dict[str, Any]) -> None:
    for path, extension in reader.entries("extension"):
        if extension.get("url") == STAGE_URL:
            stage = extension.get("valueCode")
            if stage not in STAGES:
                reader.fail(
                    f"{path}.valueCode", f"must be one of {', '.join(STAGES)}", "code-invalid"
                )
            else:
                fields["stage"] = stage
        elif extension.get("url") == PRONOUNS_URL:
            inner = extension.get("extension")
            if isinstance(inner, list) and inner and isinstance(inner[0], Mapping):
                concept = inner[0].get("valueCodeableConcept") or {}
                text = concept.get("text") if isinstance(concept, Mapping) else None
                fields["pronouns"] = reader.text(
                    text, f"{path}.extension[0].valueCodeableConcept.text", "pronouns"
                )
