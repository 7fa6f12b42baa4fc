"""ChargeLine -> FHIR ChargeItem (R4; identical in R4B here).

A proposed line is ``planned``, a posted one ``billable``, a posted line on a claim sent to
the payer ``billed``, a posted line that a reversal cancelled ``aborted``; reversal lines themselves are not served. The code is the HCPCS or
CPT code valid on the date of service, the quantity its units, and ``reason`` the ICD-10-CM
diagnoses the line points at. Prices are not served (ChargeItem carries them only as an
override), so the facade never turns cents into a floating-point amount.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.billing.models import ChargeLine

SYSTEMS = {
    "hcpcs": "urn:oid:2.16.840.1.113883.6.285",
    "cpt": "http://www.ama-assn.org/go/cpt",
}
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def status_of(line: ChargeLine) -> str:
    if line.status == "proposed":
        return "planned"
    if getattr(line, "is_reversed", False):
        return "aborted"
    return "billed" if getattr(line, "is_claimed", False) else "billable"


def to_fhir_charge_item(line: ChargeLine) -> dict[str, Any]:
    charge = line.charge
    resource: dict[str, Any] = {
        "resourceType": "ChargeItem",
        "id": str(line.pk),
        "status": status_of(line),
        "code": {
            "coding": [
                {
                    "system": SYSTEMS.get(line.code.system, "urn:katclinic:billing-code"),
                    "code": line.code.code,
                    "display": line.code.short_description,
                }
            ]
        },
        "subject": {"reference": f"Patient/{charge.patient_id}"},
        "occurrenceDateTime": charge.date_of_service.isoformat(),
        "quantity": {"value": line.units},
    }
    if line.posted_at is not None:
        resource["enteredDate"] = utc(line.posted_at)
    if line.diagnosis_codes:
        resource["reason"] = [
            {"coding": [{"system": ICD10CM, "code": code}]} for code in line.diagnosis_codes
        ]
    return resource
