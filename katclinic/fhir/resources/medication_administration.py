"""Administration -> FHIR MedicationAdministration (R4; identical in R4B for these elements).

Each dose given in a dosing session (ketamine, esketamine devices, and adjuncts such as
an antiemetic) becomes one MedicationAdministration. The product, lot number and expiry
travel in a contained Medication, since R4 keeps the lot on Medication.batch.

No RxNorm or SNOMED CT code is sent for the product: the codes circulating for ketamine
are not verified for this project, so the medication is identified by its text and a
local code (the product name as recorded in the clinic's stock), never by a national
code a receiver might trust. The context is the dosing session's Encounter, and the request
the MedicationRequest (signed plan version) the dose was given under.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from katclinic.fhir.resources.encounter import SESSION_SYSTEM
from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.dosing.models import Administration

PRODUCT_SYSTEM = "urn:katclinic:medication-product"
KIND_SYSTEM = "urn:katclinic:administration-kind"
ROUTE_SYSTEM = "urn:katclinic:route"
UCUM = "http://unitsofmeasure.org"
ROUTE_LABELS = {
    "iv": "Intravenous",
    "im": "Intramuscular",
    "intranasal": "Intranasal",
    "oral": "Oral",
    "sublingual": "Sublingual",
    "sc": "Subcutaneous",
}
KINDS = {"treatment": "Treatment dose", "adjunct": "Adjunct"}


def product_code(product: str) -> str:
    """The local code of a product: its recorded name with runs of spaces folded."""
    return " ".join(product.split())


def _number(value: Decimal) -> Decimal:
    """A stored decimal without trailing zeros (35.00 -> 35, 2.50 -> 2.5), kept exact: the
    facade's serializer writes it as a JSON number, never through a float."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": unit}


def _dosage_text(given: Administration) -> str:
    parts = [f"{_number(given.dose_mg)} mg {ROUTE_LABELS.get(given.route, given.route).lower()}"]
    if given.dose_mg_per_kg is not None:
        parts.append(f"{_number(given.dose_mg_per_kg)} mg/kg")
    if given.concentration_mg_per_ml is not None:
        parts.append(f"{_number(given.concentration_mg_per_ml)} mg/mL")
    if given.device_number is not None:
        parts.append(f"device {given.device_number}")
    if given.rate_mg_per_h is not None:
        parts.append(f"at {_number(given.rate_mg_per_h)} mg/h")
    return ", ".join(parts)


def _dosage(given: Administration) -> dict[str, Any]:
    route = ROUTE_LABELS.get(given.route, given.route)
    dosage: dict[str, Any] = {
        "text": _dosage_text(given),
        "route": {
            "coding": [{"system": ROUTE_SYSTEM, "code": given.route, "display": route}],
            "text": route,
        },
        "dose": _quantity(given.dose_mg, "mg"),
    }
    if given.rate_mg_per_h is not None:
        dosage["rateQuantity"] = _quantity(given.rate_mg_per_h, "mg/h")
    return dosage


def to_fhir_medication_administration(
    given: Administration, patient_id: int, *, request_id: int | None = None
) -> dict[str, Any]:
    """The MedicationAdministration for ``given`` (``given_by`` joined), of ``patient_id``,
    given under the MedicationRequest ``request_id`` where one is known."""
    product = product_code(given.product)
    kind = "adjunct" if given.is_adjunct else "treatment"
    medication = {
        "resourceType": "Medication",
        "id": "product",
        "code": {"coding": [{"system": PRODUCT_SYSTEM, "code": product}], "text": product},
        "batch": {"lotNumber": given.lot_number, "expirationDate": given.expiry.isoformat()},
    }
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(given.pk),
        "contained": [medication],
        # An infusion with a rate and no end time recorded yet is still running.
        "status": "in-progress"
        if given.rate_mg_per_h is not None and given.ended_at is None
        else "completed",
        "category": {
            "coding": [{"system": KIND_SYSTEM, "code": kind, "display": KINDS[kind]}],
            "text": KINDS[kind],
        },
        "medicationReference": {"reference": "#product", "display": product},
        "subject": {"reference": f"Patient/{patient_id}"},
        "context": {
            "reference": f"Encounter/{given.session_id}",
            "identifier": {"system": SESSION_SYSTEM, "value": str(given.session_id)},
            "display": f"Dosing session {given.session_id}",
        },
        "performer": [{"actor": {"display": given.given_by.full_name}}],
    }
    if request_id is not None:
        resource["request"] = {"reference": f"MedicationRequest/{request_id}"}
    resource["dosage"] = _dosage(given)
    if given.ended_at is not None:
        resource["effectivePeriod"] = {"start": utc(given.started_at), "end": utc(given.ended_at)}
    else:
        resource["effectiveDateTime"] = utc(given.started_at)
    return resource
