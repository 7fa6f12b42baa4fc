"""Coverage, Claim and ExplanationOfBenefit (R4; identical in R4B here) from insurance rows.

A Coverage is the insurance the front desk recorded; a Claim is the professional claim
built from one posted charge; an ExplanationOfBenefit is one payer's answer to a claim of
ours read from an imported 835 remittance (answers matching none of our claims are not
served: they name no patient of the clinic).

Amounts are kept in integer cents and written as FHIR Money with their currency: the
decimal is built from the cents with ``Decimal`` and written as a JSON number, which is
what the FHIR decimal type is on the wire.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from katclinic.fhir.resources.charge_item import ICD10CM, SYSTEMS
from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.insurance.models import Claim, ClaimLine, Coverage, LinePayment, RemittanceClaim

# https://terminology.hl7.org/CodeSystem-v2-0203.html (MB: member number)
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
# Patient responsibility that is neither a copay nor a deductible (coinsurance, for one)
# has no code in the adjudication code system; it is sent under this local one.
LOCAL_ADJUDICATION = "urn:katclinic:adjudication"
# X12 claim adjustment reason codes, https://x12.org/codes/claim-adjustment-reason-codes
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
PAYER_ID_SYSTEM = "urn:katclinic:payer-id"
CLAIM_NUMBER_SYSTEM = "urn:katclinic:claim-number"
PAYER_CLAIM_SYSTEM = "urn:katclinic:payer-claim-number"
PLACE_OF_SERVICE = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
ORDER = {"primary": 1, "secondary": 2}
# Claim rows' states -> Claim.status: built but not yet sent is a draft.
CLAIM_STATUS = {"draft": "draft", "ready": "draft"}
# Patient-responsibility reasons with a code of their own (CARC 1 deductible, 3 copay).
PR_CATEGORY = {"1": "deductible", "3": "copay"}


def money(cents: int, currency: str = "USD") -> dict[str, Any]:
    """Integer cents as FHIR Money: an exact decimal (1234567.89 stays 1234567.89), which
    the facade's serializer writes as a JSON number without passing through a float."""
    return {"value": Decimal(cents).scaleb(-2), "currency": currency}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    return {"coding": [coding | ({"display": display} if display else {})]}


def payer(name: str, payer_id: str) -> dict[str, Any]:
    """A payer as a reference by its payer id: payers are not served as Organizations."""
    return {"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}, "display": name}


def _subscriber(cover: Coverage) -> dict[str, Any]:
    if cover.relationship == "self":
        return {"reference": f"Patient/{cover.patient_id}"}
    return {"display": f"{cover.subscriber_first_name} {cover.subscriber_last_name}"}


def coverage_status(cover: Coverage) -> str:
    return "active"


def to_fhir_coverage(cover: Coverage) -> dict[str, Any]:
    member = {"type": _coding(IDENTIFIER_TYPE, "MB", "Member Number"), "value": cover.member_id}
    period = {"start": cover.valid_from.isoformat()}
    if cover.valid_to:
        period["end"] = cover.valid_to.isoformat()
    classes = []
    if cover.group_number:
        classes.append({"type": _coding(COVERAGE_CLASS, "group"), "value": cover.group_number})
    if cover.plan_name:
        classes.append(
            {
                "type": _coding(COVERAGE_CLASS, "plan"),
                "value": cover.plan_name,
                "name": cover.plan_name,
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": str(cover.pk),
        "identifier": [member],
        "status": coverage_status(cover),
        "subscriber": _subscriber(cover),
        "subscriberId": cover.member_id,
        "beneficiary": {"reference": f"Patient/{cover.patient_id}"},
        "relationship": _coding(RELATIONSHIP, cover.relationship),
        "period": period,
        "payor": [payer(cover.payer_name, cover.payer_id)],
        "order": ORDER.get(cover.priority, 1),
    }
    if classes:
        resource["class"] = classes
    return resource


def claim_status(claim: Claim) -> str:
    return CLAIM_STATUS.get(claim.status, "active")


def _claim_item(line: ClaimLine, claim: Claim) -> dict[str, Any]:
    currency = claim.currency
    item: dict[str, Any] = {
        "sequence": line.position,
        "productOrService": _coding(_code_system(line.code), line.code),
        "servicedDate": line.service_date.isoformat(),
        "locationCodeableConcept": _coding(PLACE_OF_SERVICE, claim.place_of_service),
        "quantity": {"value": line.units},
        "net": money(line.charge_cents, currency),
    }
    if line.diagnosis_pointers:
        item["diagnosisSequence"] = list(line.diagnosis_pointers)
    if line.modifier_list:
        item["modifier"] = [{"coding": [{"code": m}]} for m in line.modifier_list]
    return item


def _code_system(code: str) -> str:
    """HCPCS level II codes start with a letter; CPT codes are five digits."""
    return SYSTEMS["cpt"] if code[:1].isdigit() else SYSTEMS["hcpcs"]


def to_fhir_claim(claim: Claim) -> dict[str, Any]:
    """``claim`` with its ``lines`` prefetched and ``charge`` and ``coverage`` joined."""
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "id": str(claim.pk),
        "identifier": [{"system": CLAIM_NUMBER_SYSTEM, "value": claim.control_number}],
        "status": claim_status(claim),
        "type": _coding(CLAIM_TYPE, "professional"),
        "use": "claim",
        "patient": {"reference": f"Patient/{claim.patient_id}"},
        "billablePeriod": {
            "start": claim.date_of_service.isoformat(),
            "end": claim.date_of_service.isoformat(),
        },
        "created": utc(claim.created_at),
        "insurer": payer(claim.coverage.payer_name, claim.coverage.payer_id),
        "provider": {"reference": f"Organization/{claim.clinic_id}"},
        "priority": _coding(PRIORITY, "normal"),
    }
    clinician = claim.charge.rendering_clinician_id
    if clinician is not None:
        resource["careTeam"] = [
            {
                "sequence": 1,
                "provider": {"reference": f"Practitioner/{clinician}"},
                "role": _coding(CARE_TEAM_ROLE, "primary"),
            }
        ]
    resource["diagnosis"] = [
        {"sequence": index, "diagnosisCodeableConcept": _coding(ICD10CM, code)}
        for index, code in enumerate(claim.diagnosis_codes, start=1)
    ]
    resource["insurance"] = [
        {"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{claim.coverage_id}"}}
    ]
    resource["item"] = [_claim_item(line, claim) for line in claim.lines.all()]
    resource["total"] = money(claim.total_cents, claim.currency)
    return {k: v for k, v in resource.items() if v != []}


def _adjudication(category: dict[str, Any], cents: int, currency: str) -> dict[str, Any]:
    return {"category": category, "amount": money(cents, currency)}


def _patient_shares(line: LinePayment, currency: str) -> list[dict[str, Any]]:
    """Each patient-responsibility adjustment under its category, with its reason code."""
    out = []
    for adjustment in line.adjustments.all():
        if adjustment.group != "PR":
            continue
        code = PR_CATEGORY.get(adjustment.reason)
        category = (
            _coding(ADJUDICATION, code)
            if code
            else _coding(LOCAL_ADJUDICATION, "patient-responsibility", "Patient responsibility")
        )
        entry = _adjudication(category, adjustment.amount_cents, currency)
        entry["reason"] = _coding(CARC, adjustment.reason)
        out.append(entry)
    return out


def _eob_item(line: LinePayment, sequence: int, currency: str) -> dict[str, Any]:
    eligible = line.paid_cents + line.patient_responsibility_cents
    return {
        "sequence": sequence,
        "productOrService": _coding(_code_system(line.code), line.code),
        "adjudication": [
            _adjudication(_coding(ADJUDICATION, "submitted"), line.charge_cents, currency),
            _adjudication(_coding(ADJUDICATION, "eligible"), eligible, currency),
            *_patient_shares(line, currency),
            _adjudication(_coding(ADJUDICATION, "benefit"), line.paid_cents, currency),
        ],
    }


def _totals(paid: RemittanceClaim, currency: str) -> list[dict[str, Any]]:
    totals = [
        _adjudication(_coding(ADJUDICATION, "submitted"), paid.charge_cents, currency),
        _adjudication(_coding(ADJUDICATION, "benefit"), paid.paid_cents, currency),
    ]
    if paid.patient_responsibility_cents:
        category = _coding(LOCAL_ADJUDICATION, "patient-responsibility", "Patient responsibility")
        totals.append(_adjudication(category, paid.patient_responsibility_cents, currency))
    return totals


def to_fhir_explanation_of_benefit(paid: RemittanceClaim) -> dict[str, Any]:
    """``paid`` with its ``claim`` (and coverage), ``remittance`` and lines joined."""
    # Only answers matching one of our claims are served.
    claim, remittance = cast("Claim", paid.claim), paid.remittance
    currency = claim.currency
    lines = list(paid.lines.all())
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": str(paid.pk),
        "identifier": [
            {"system": PAYER_CLAIM_SYSTEM, "value": paid.payer_claim_number or paid.control_number}
        ],
        "status": "active",
        "type": _coding(CLAIM_TYPE, "professional"),
        "use": "claim",
        "patient": {"reference": f"Patient/{claim.patient_id}"},
        "created": utc(remittance.imported_at),
        "insurer": payer(
            remittance.payer_name or claim.coverage.payer_name,
            remittance.payer_id or claim.coverage.payer_id,
        ),
        "provider": {"reference": f"Organization/{claim.clinic_id}"},
        "claim": {"reference": f"Claim/{claim.pk}"},
        "outcome": "complete",
        "disposition": paid.status_label or paid.status_code,
        "insurance": [{"focal": True, "coverage": {"reference": f"Coverage/{claim.coverage_id}"}}],
        "item": [
            _eob_item(line, line.claim_line.position if line.claim_line else index, currency)
            for index, line in enumerate(lines, start=1)
        ],
        "total": _totals(paid, currency),
        "payment": {"amount": money(paid.paid_cents, currency)},
    }
    if remittance.paid_on:
        resource["payment"]["date"] = remittance.paid_on.isoformat()
    if not resource["item"]:
        del resource["item"]
    return resource
