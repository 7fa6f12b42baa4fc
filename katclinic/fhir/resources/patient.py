"""Patient <-> FHIR Patient (R4; checked against the R4B models, identical for Patient).

The record number travels as an identifier in ``MRN_SYSTEM`` with type MR, followed by
the other systems' identifiers an import brought. The record keeps one sex field (sex at
birth), sent as ``gender`` since its four codes are the same, and as US Core birth sex;
the treatment stage and pronouns travel as extensions, race and ethnicity as the US Core
extensions where an import brought them (see ``patient_detail``). Every Patient meets
US Core Patient 6.1.0 (an identifier with its system, an official name with family and
given, gender) and declares it. The responsible clinician and the portal account stay
inside KAT Clinic (no Practitioner or RelatedPerson here).

An import keeps what it reads and refuses what it cannot keep (a second address, a
third name, an extension it does not know), naming the element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings

from katclinic.fhir.outcome import InvalidResource, Issue
from katclinic.fhir.resources import patient_detail as detail

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
BCP47 = "urn:ietf:bcp:47"
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
    "preferred_language",
    "given_names",
    "address_parts",
    "identifiers",
    "race",
    "ethnicity",
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
    given = detail.given_entry(patient.first_name, patient.given_names or [])
    names: list[dict[str, Any]] = [{"use": "official", "family": patient.last_name, "given": given}]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"profile": [detail.US_CORE_PATIENT]},
        "extension": _extensions(patient),
        "identifier": [
            {"use": "usual", "type": MR_TYPE, "system": MRN_SYSTEM, "value": patient.mrn},
            *(patient.identifiers or []),
        ],
        "active": True,
        "name": names,
        "gender": patient.sex_at_birth,
        "birthDate": patient.date_of_birth.isoformat(),
    }
    telecom = [{"system": "phone", "value": patient.phone}] if patient.phone else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    if patient.address:
        resource["address"] = [detail.address_entry(patient.address, patient.address_parts or {})]
    language: dict[str, Any] = {"coding": [{"system": BCP47, "code": patient.preferred_language}]}
    if name := dict(settings.LANGUAGES).get(patient.preferred_language):
        language["text"] = name
    resource["communication"] = [{"language": language, "preferred": True}]
    contact = _emergency_contact(patient)
    if contact:
        resource["contact"] = [contact]
    return resource


def _extensions(patient: Patient) -> list[dict[str, Any]]:
    found = [
        {"url": STAGE_URL, "valueCode": patient.stage},
        _pronouns(patient.pronouns) if patient.pronouns else None,
        detail.category_extension(detail.RACE_URL, patient.race or {}),
        detail.category_extension(detail.ETHNICITY_URL, patient.ethnicity or {}),
        detail.birthsex_extension(patient.sex_at_birth),
    ]
    return [extension for extension in found if extension is not None]


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


# Top-level elements an import reads; anything else is refused rather than dropped.
# (``text`` is the narrative, made from the elements themselves; ``meta`` and ``id`` are
# the sender's own bookkeeping.)
READ_ELEMENTS = frozenset(
    {"resourceType", "id", "meta", "text", "extension", "identifier", "active", "name"}
    | {"telecom", "gender", "birthDate", "address", "contact", "communication"}
)


def from_fhir_patient(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Patient field values from a FHIR Patient; raise InvalidResource naming each bad element,
    and each element that would not be kept.

    The record number is left out when the resource has no identifier in ``MRN_SYSTEM``
    (the clinic assigns one).
    """
    reader = _Reader(resource)
    if resource.get("resourceType") != "Patient":
        reader.fail("Patient.resourceType", "must be 'Patient'")
    for name in sorted(set(resource) - READ_ELEMENTS):
        reader.fail(f"Patient.{name}", "is not kept by this server; leave it out", "not-supported")
    if resource.get("active") is False:
        reader.fail("Patient.active", "only active patients are imported", "not-supported")
    fields: dict[str, Any] = {
        "given_names": [],
        "address_parts": {},
        "identifiers": [],
        "race": {},
        "ethnicity": {},
    }
    _read_identifier(reader, fields)
    _read_names(reader, fields)
    _read_birth_and_gender(reader, fields)
    _read_telecom(reader, fields)
    _read_address(reader, fields)
    _read_contact(reader, fields)
    _read_extensions(reader, fields)
    _read_communication(reader, fields)
    for name in OPTIONAL_TEXT:
        fields.setdefault(name, "")
    if reader.issues:
        raise InvalidResource(reader.issues)
    return fields


def _not_kept(reader: _Reader, entries: list[tuple[str, Mapping[str, Any]]], what: str) -> None:
    for path, _ in entries:
        reader.fail(path, f"only {what} is kept; leave this one out", "not-supported")


def _read_identifier(reader: _Reader, fields: dict[str, Any]) -> None:
    others = []
    for path, identifier in reader.entries("identifier"):
        if identifier.get("system") == MRN_SYSTEM:
            if "mrn" in fields:
                reader.fail(path, "only one record number is kept", "not-supported")
                continue
            mrn = reader.text(identifier.get("value"), f"{path}.value", "mrn", required=True)
            if mrn:
                fields["mrn"] = mrn
            continue
        kept = detail.read_identifier(identifier, path, reader.fail)
        if kept:
            others.append(kept)
    if len(others) > detail.MAX_IDENTIFIERS:
        reader.fail("Patient.identifier", f"at most {detail.MAX_IDENTIFIERS} identifiers are kept")
    fields["identifiers"] = others


def _read_names(reader: _Reader, fields: dict[str, Any]) -> None:
    names = reader.entries("name")
    official = next(((p, n) for p, n in names if n.get("use") in ("official", None)), None)
    if official is None:
        reader.fail("Patient.name", "needs an official name with family and given", "required")
        return
    path, name = official
    _only_parts(reader, name, path, ("use", "family", "given", "text"))
    fields["last_name"] = reader.text(name.get("family"), f"{path}.family", "last_name", True)
    parts = _given(reader, name, path)
    fields["first_name"] = reader.text(" ".join(parts) or None, f"{path}.given", "first_name", True)
    if len(parts) > 1:
        fields["given_names"] = parts
    usual = next(((p, n) for p, n in names if n.get("use") == "usual"), None)
    if usual is not None:
        path = usual[0]
        _only_parts(reader, usual[1], path, ("use", "given", "text"))
        fields["preferred_name"] = reader.text(
            " ".join(_given(reader, usual[1], path)) or None, f"{path}.given", "preferred_name"
        )
    kept = {official[0], usual[0] if usual else ""}
    _not_kept(reader, [(p, n) for p, n in names if p not in kept], "an official and a usual name")


def _only_parts(
    reader: _Reader, entry: Mapping[str, Any], path: str, kept: tuple[str, ...]
) -> None:
    for key in sorted(set(entry) - set(kept)):
        reader.fail(f"{path}.{key}", "is not kept by this server; leave it out", "not-supported")


def _given(reader: _Reader, name: Mapping[str, Any], path: str) -> list[str]:
    given = name.get("given", [])
    if not isinstance(given, list):
        reader.fail(f"{path}.given", "must be a list")
        return []
    return [part.strip() for part in given if isinstance(part, str) and part.strip()]


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
        _only_parts(reader, point, path, ("system", "value", "use", "rank"))
        if system == "phone" and "phone" not in fields:
            fields["phone"] = reader.text(point.get("value"), f"{path}.value", "phone", True)
        elif system == "email" and "email" not in fields:
            email = reader.text(point.get("value"), f"{path}.value", "email", True)
            if email and not _EMAIL.match(email):
                reader.fail(f"{path}.value", "is not an email address")
            fields["email"] = email
        else:
            reader.fail(path, "only one phone number and one email are kept", "not-supported")


def _read_address(reader: _Reader, fields: dict[str, Any]) -> None:
    addresses = reader.entries("address")
    if not addresses:
        return
    path, address = addresses[0]
    _not_kept(reader, addresses[1:], "one address")
    parts = detail.read_address(address, path, reader.fail)
    given = address.get("text")
    if given is not None:
        text = reader.text(given, f"{path}.text", "address")
    else:
        text = reader.text(detail.address_text(parts), path, "address")
    fields["address"] = text
    if parts:
        fields["address_parts"] = parts | {"text": text}


def _read_contact(reader: _Reader, fields: dict[str, Any]) -> None:
    contacts = reader.entries("contact")
    if not contacts:
        return
    path, contact = contacts[0]
    _not_kept(reader, contacts[1:], "one emergency contact")
    _only_parts(reader, contact, path, ("name", "relationship", "telecom"))
    name = contact.get("name")
    if isinstance(name, Mapping):
        _only_parts(reader, name, f"{path}.name", ("text",))
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
        url = extension.get("url")
        if url == STAGE_URL:
            stage = extension.get("valueCode")
            if stage not in STAGES:
                reader.fail(
                    f"{path}.valueCode", f"must be one of {', '.join(STAGES)}", "code-invalid"
                )
            else:
                fields["stage"] = stage
        elif url == PRONOUNS_URL:
            _read_pronouns(reader, fields, path, extension)
        elif url in (detail.RACE_URL, detail.ETHNICITY_URL):
            key = "race" if url == detail.RACE_URL else "ethnicity"
            fields[key] = detail.read_category_extension(extension, path, reader.fail)
        elif url == detail.BIRTHSEX_URL:
            _read_birthsex(reader, fields, path, extension)
        else:
            reader.fail(path, f"the extension {url} is not kept by this server", "not-supported")


def _read_pronouns(
    reader: _Reader, fields: dict[str, Any], path: str, extension: Mapping[str, Any]
) -> None:
    inner = extension.get("extension")
    if isinstance(inner, list) and inner and isinstance(inner[0], Mapping):
        concept = inner[0].get("valueCodeableConcept") or {}
        text = concept.get("text") if isinstance(concept, Mapping) else None
        fields["pronouns"] = reader.text(
            text, f"{path}.extension[0].valueCodeableConcept.text", "pronouns"
        )


def _read_birthsex(
    reader: _Reader, fields: dict[str, Any], path: str, extension: Mapping[str, Any]
) -> None:
    """Birth sex is the record's one sex field: a different gender could not be kept beside it."""
    sex = detail.read_birthsex(extension, path, reader.fail)
    if sex is None:
        return
    gender = reader.resource.get("gender")
    if gender is not None and gender != sex:
        reader.fail(
            path,
            f"the record keeps one sex field (sex at birth): gender {gender} and birth sex "
            f"{extension.get('valueCode')} cannot both be kept; send them alike or one alone",
            "not-supported",
        )
        return
    fields["sex_at_birth"] = sex


def _read_communication(reader: _Reader, fields: dict[str, Any]) -> None:
    """The preferred language, where it is one the clinic's pages and messages speak."""
    entries = reader.entries("communication")
    if not entries:
        return
    path, entry = entries[0]
    _not_kept(reader, entries[1:], "one language")
    language = entry.get("language")
    codings = language.get("coding") if isinstance(language, Mapping) else None
    codes = [
        c.get("code")
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, Mapping) and c.get("system") == BCP47
    ]
    known = dict(settings.LANGUAGES)
    found = next((str(c).split("-")[0] for c in codes if str(c).split("-")[0] in known), None)
    if found is None:
        reader.fail(
            f"{path}.language",
            f"must be a BCP-47 code ({BCP47}) of a language served: {', '.join(known)}",
            "not-supported",
        )
        return
    fields["preferred_language"] = found
