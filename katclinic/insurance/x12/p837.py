"""The professional claim, ASC X12 005010X222A1 (837P), written from typed values.

Loops follow the implementation guide (ASC X12N/005010X222A1, 2010, with the A1 addenda;
https://x12.org/products/transaction-sets): 1000A submitter, 1000B receiver, 2000A/2010AA
billing provider, 2000B/2010BA/2010BB subscriber and payer, 2000C/2010CA patient when the
patient is not the subscriber, 2300 claim, 2310B rendering provider, 2400 service lines.
Diagnosis codes are ICD-10-CM written without the dot; service lines carry HCPCS or CPT codes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from katclinic.insurance.x12.envelope import Envelope, X12Error, amount, composite, segment, wrap
from katclinic.lib.npi import npi_is_valid

VERSION = "005010X222A1"

# SBR02 / PAT01 individual relationship codes of the guide.
RELATIONSHIPS = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
PRIORITIES = {"primary": "P", "secondary": "S", "tertiary": "T"}
SEXES = ("F", "M", "U")

_CODE = re.compile(r"^[A-Z0-9]{5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


# One rule for the NPI check digit, shared with setup and billing.
npi_valid = npi_is_valid


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True)
class Party:
    """A person (last and first name) or an organisation (last name only)."""

    last_name: str
    first_name: str = ""
    identifier: str = ""
    address: Address | None = None
    birth_date: date | None = None
    sex: str = "U"

    @property
    def is_person(self) -> bool:
        return bool(self.first_name)


@dataclass(frozen=True)
class BillingProvider:
    name: str
    npi: str
    tax_id: str
    address: Address
    taxonomy: str = ""


@dataclass(frozen=True)
class Subscriber:
    party: Party  # identifier: the member id
    payer_name: str
    payer_id: str
    group_number: str = ""
    priority: str = "primary"
    relationship: str = "self"  # the patient's relationship to the subscriber


@dataclass(frozen=True)
class ServiceLine:
    code: str
    charge_cents: int
    units: Decimal
    service_date: date
    diagnosis_pointers: Sequence[int]
    modifiers: Sequence[str] = ()
    unit_basis: str = "UN"  # UN units, MJ minutes


@dataclass(frozen=True)
class Claim:
    control_number: str  # the clinic's patient account number for this claim (CLM01)
    diagnosis_codes: Sequence[str]
    lines: Sequence[ServiceLine]
    place_of_service: str = "11"  # office
    prior_authorization: str = ""
    frequency: str = "1"  # original claim


@dataclass(frozen=True)
class ClaimFile:
    envelope: Envelope
    submitter: Party  # identifier: the submitter id at the clearinghouse
    submitter_contact: str
    submitter_phone: str
    receiver: Party  # identifier: the clearinghouse's receiver id
    billing: BillingProvider
    subscriber: Subscriber
    claim: Claim
    patient: Party | None = None  # None when the patient is the subscriber
    rendering: Party | None = None  # identifier: the rendering clinician's NPI
    reference: str = ""


def _billing_problems(data: ClaimFile) -> list[str]:
    found: list[str] = []
    billing = data.billing
    if not npi_valid(billing.npi):
        found.append("Billing provider NPI is missing or fails its check digit.")
    if not re.fullmatch(r"\d{9}", billing.tax_id.replace("-", "")):
        found.append("Billing provider tax id must be 9 digits.")
    if not re.fullmatch(r"\d{9}", billing.address.postal_code.replace("-", "")):
        found.append("Billing provider ZIP code must be 9 digits (ZIP+4).")
    if not billing.address.line1 or not billing.address.city:
        found.append("Billing provider address is incomplete.")
    if not re.fullmatch(r"[A-Z]{2}", billing.address.state):
        found.append("Billing provider state must be a two-letter code.")
    if data.rendering is not None and not npi_valid(data.rendering.identifier):
        found.append("Rendering clinician NPI is missing or fails its check digit.")
    return found


def _subscriber_problems(data: ClaimFile) -> list[str]:
    found: list[str] = []
    sub = data.subscriber
    if not sub.party.identifier:
        found.append("Subscriber member id is missing.")
    if not sub.payer_id or not sub.payer_name:
        found.append("Payer name and payer id are required.")
    if sub.relationship not in RELATIONSHIPS:
        found.append("Relationship to the subscriber is not recognised.")
    if sub.priority not in PRIORITIES:
        found.append("Coverage priority is not recognised.")
    if sub.relationship == "self" and data.patient is not None:
        found.append("A patient who is the subscriber is given once, as the subscriber.")
    if sub.relationship != "self" and data.patient is None:
        found.append("The patient is needed when the patient is not the subscriber.")
    person = data.patient or sub.party
    if person.birth_date is None:
        found.append("Patient date of birth is missing.")
    if person.address is None:
        found.append("Patient address is missing.")
    return found


def _line_problems(where: str, line: ServiceLine, diagnoses: int) -> list[str]:
    found: list[str] = []
    if not _CODE.match(line.code.upper()):
        found.append(f"{where}: {line.code!r} is not a HCPCS or CPT code.")
    if len(line.modifiers) > 4 or any(not _MODIFIER.match(m.upper()) for m in line.modifiers):
        found.append(f"{where}: modifiers must be up to four two-character codes.")
    if line.charge_cents <= 0:
        found.append(f"{where}: the charge must be more than zero.")
    if line.units <= 0:
        found.append(f"{where}: units must be more than zero.")
    pointers = list(line.diagnosis_pointers)
    if not 1 <= len(pointers) <= 4:
        found.append(f"{where}: one to four diagnosis pointers are required.")
    if any(not 1 <= p <= diagnoses for p in pointers):
        found.append(f"{where}: a diagnosis pointer names no diagnosis of the claim.")
    return found


def _claim_problems(claim: Claim) -> list[str]:
    found: list[str] = []
    if not claim.control_number or len(claim.control_number) > 20:
        found.append("Claim number must have 1 to 20 characters.")
    if not 1 <= len(claim.diagnosis_codes) <= 12:
        found.append("A claim needs 1 to 12 diagnosis codes.")
    for code in claim.diagnosis_codes:
        if not _ICD10.match(code.upper()):
            found.append(f"Diagnosis {code!r} is not an ICD-10-CM code.")
    if not 1 <= len(claim.lines) <= 50:
        found.append("A claim needs 1 to 50 service lines.")
    for number, line in enumerate(claim.lines, start=1):
        found += _line_problems(f"Line {number}", line, len(claim.diagnosis_codes))
    return found


def problems(data: ClaimFile) -> list[str]:
    """Everything that keeps this claim from being a valid 837P, in words staff can act on."""
    return _billing_problems(data) + _subscriber_problems(data) + _claim_problems(data.claim)


def _name(qualifier: str, party: Party, id_qualifier: str) -> str:
    kind = "1" if party.is_person else "2"
    return segment(
        "NM1",
        qualifier,
        kind,
        party.last_name,
        party.first_name,
        "",
        "",
        "",
        id_qualifier if party.identifier else "",
        party.identifier,
    )


def _address(address: Address | None) -> list[str]:
    if address is None:  # refused by `problems` before writing
        return []
    return [
        segment("N3", address.line1, address.line2),
        segment("N4", address.city, address.state, address.postal_code.replace("-", "")),
    ]


def _demographics(party: Party) -> str:
    born = party.birth_date.strftime("%Y%m%d") if party.birth_date else ""
    return segment("DMG", "D8", born, party.sex)


def _units(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def _header(data: ClaimFile) -> list[str]:
    """The transaction's beginning, 1000A submitter and 1000B receiver."""
    when = data.envelope.created_at
    return [
        segment(
            "BHT",
            "0019",
            "00",
            data.reference or data.claim.control_number,
            when.strftime("%Y%m%d"),
            when.strftime("%H%M"),
            "CH",
        ),
        _name("41", data.submitter, "46"),
        segment("PER", "IC", data.submitter_contact, "TE", re.sub(r"\D", "", data.submitter_phone)),
        _name("40", data.receiver, "46"),
    ]


def _billing_loop(data: ClaimFile) -> list[str]:
    """2000A and 2010AA: the billing provider."""
    body = [segment("HL", 1, "", 20, 1)]
    if data.billing.taxonomy:
        body.append(segment("PRV", "BI", "PXC", data.billing.taxonomy))
    billing_party = Party(last_name=data.billing.name, identifier=data.billing.npi)
    return [
        *body,
        _name("85", billing_party, "XX"),
        *_address(data.billing.address),
        segment("REF", "EI", data.billing.tax_id.replace("-", "")),
    ]


def _subscriber_loop(data: ClaimFile) -> list[str]:
    """2000B, 2010BA subscriber and 2010BB payer."""
    sub = data.subscriber
    body = [
        segment("HL", 2, 1, 22, 0 if data.patient is None else 1),
        segment(
            "SBR",
            PRIORITIES[sub.priority],
            "18" if data.patient is None else "",
            sub.group_number,
            "",
            "",
            "",
            "",
            "",
            "CI",
        ),
        _name("IL", sub.party, "MI"),
    ]
    if data.patient is None:
        body += [*_address(sub.party.address), _demographics(sub.party)]
    body.append(_name("PR", Party(last_name=sub.payer_name, identifier=sub.payer_id), "PI"))
    return body


def _patient_loop(data: ClaimFile) -> list[str]:
    """2000C and 2010CA, only when the patient is not the subscriber."""
    patient = data.patient
    if patient is None:
        return []
    return [
        segment("HL", 3, 2, 23, 0),
        segment("PAT", RELATIONSHIPS[data.subscriber.relationship]),
        _name("QC", Party(patient.last_name, patient.first_name), ""),
        *_address(patient.address),
        _demographics(patient),
    ]


def _claim_loop(data: ClaimFile) -> list[str]:
    """2300 claim and 2310B rendering provider."""
    claim = data.claim
    total = sum(line.charge_cents for line in claim.lines)
    codes = [code.upper().replace(".", "") for code in claim.diagnosis_codes]
    diagnoses = [composite("ABK" if i == 0 else "ABF", code) for i, code in enumerate(codes)]
    body = [
        segment(
            "CLM",
            claim.control_number,
            amount(total),
            "",
            "",
            composite(claim.place_of_service, "B", claim.frequency),
            "Y",
            "A",
            "Y",
            "Y",
        ),
    ]
    if claim.prior_authorization:
        body.append(segment("REF", "G1", claim.prior_authorization))
    body.append(segment("HI", *diagnoses))
    if data.rendering is not None:
        body.append(_name("82", data.rendering, "XX"))
    return body


def _service_loop(number: int, line: ServiceLine) -> list[str]:
    """2400: one service line."""
    return [
        segment("LX", number),
        segment(
            "SV1",
            composite("HC", line.code.upper(), *[m.upper() for m in line.modifiers]),
            amount(line.charge_cents),
            line.unit_basis,
            _units(line.units),
            "",
            "",
            composite(*line.diagnosis_pointers),
        ),
        segment("DTP", "472", "D8", line.service_date.strftime("%Y%m%d")),
    ]


def write(data: ClaimFile) -> str:
    """The 837P file, or `X12Error` listing every problem."""
    found = problems(data)
    if found:
        raise X12Error(" ".join(found))
    body = [
        *_header(data),
        *_billing_loop(data),
        *_subscriber_loop(data),
        *_patient_loop(data),
        *_claim_loop(data),
    ]
    for number, line in enumerate(data.claim.lines, start=1):
        body += _service_loop(number, line)
    return wrap(data.envelope, functional_id="HC", transaction="837", version=VERSION, body=body)
