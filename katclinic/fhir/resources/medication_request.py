"""A signed treatment-plan version -> FHIR MedicationRequest (R4; R4B identical here).

The prescription in this system is the prescriber's signed treatment plan. Each signed
version of a plan (the first plan and every amendment: titration, phase change, booster,
pause, resume, stop) is one MedicationRequest, since each is a separate order signed on
its own; ``groupIdentifier`` names the plan they belong to and ``priorPrescription`` the
version each one replaced. An unsigned draft is no order and is never served.

Status follows the plan: the plan's newest signed version is ``active`` (``on-hold`` while
the plan is paused, ``stopped`` once it is stopped); an older version, replaced by a later
signature, is ``stopped`` with the reason given. Intent is ``order``, the requester the
prescriber who signed, ``authoredOn`` the moment of signing and ``reported`` false, as
every plan is written here.

The medication is the protocol's product (ketamine or esketamine, with its form) as text,
with no RxNorm code: the codes for these products are not verified for this project, and
US Core 6.1.0 sends text alone when the source system holds no code
(https://hl7.org/fhir/us/core/STU6.1/general-requirements.html). It meets US Core
MedicationRequest 6.1.0
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-medicationrequest.html)
and declares it. A plan names no indication and is not written during a served Encounter,
so ``reasonCode``, ``reasonReference`` and ``encounter`` are left out; doses are given in
the clinic, so there is no ``dispenseRequest``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from katclinic.fhir.resources.medication_administration import (
    ROUTE_LABELS,
    ROUTE_SYSTEM,
    UCUM,
)
from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.protocols.models import PlanVersion

US_CORE_MEDICATION_REQUEST = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"
)
PLAN_SYSTEM = "urn:katclinic:treatment-plan"
PLAN_VERSION_SYSTEM = "urn:katclinic:treatment-plan-version"
# FHIR R4 medicationrequest-category (https://hl7.org/fhir/R4/codesystem-medicationrequest-category.html):
# "outpatient" covers medication given in an outpatient clinic or doctor's office.
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
OUTPATIENT = {
    "coding": [{"system": CATEGORY, "code": "outpatient", "display": "Outpatient"}],
    "text": "Outpatient",
}
# The plan's status (katclinic.protocols.models.PlanStatus) -> the newest signed version's.
CURRENT_STATUS = {"active": "active", "paused": "on-hold", "stopped": "stopped"}


def request_status(plan_status: str, replaced: bool) -> str:
    """A signed version's status: a replaced one is stopped, the newest follows its plan."""
    return "stopped" if replaced else CURRENT_STATUS.get(plan_status, "unknown")


def _number(value: Decimal) -> Decimal:
    """A stored decimal without trailing zeros (35.0 -> 35), kept exact."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": unit}


def _per_kg(version: PlanVersion) -> Decimal | None:
    """The dose per kg of the weight it was sized for, where the protocol sizes by weight."""
    rule = version.plan.protocol_version.protocol.dose_rule
    if rule.basis != "mg_per_kg" or not version.weight_kg:
        return None
    return (version.dose_mg / version.weight_kg).quantize(Decimal("0.01"))


def _how(version: PlanVersion) -> list[str]:
    """How each dose is given: devices for a nasal spray, time and rate for an infusion."""
    product = version.plan.protocol_version.protocol.product
    parts = []
    if version.devices and product.device_mg is not None:
        apart = product.minutes_between_devices
        parts.append(
            f"{version.devices} devices of {_number(product.device_mg)} mg"
            + (f", {apart} minutes apart" if apart else "")
        )
    if version.duration_minutes:
        parts.append(f"over {version.duration_minutes} minutes")
    if version.rate_mg_per_h is not None:
        parts.append(f"at {_number(version.rate_mg_per_h)} mg/h")
    return parts


def _dates(version: PlanVersion) -> list[date]:
    """The days this version plans a dose on (its doses are prefetched)."""
    return sorted(dose.planned_on for dose in version.doses.all())


def dosage_text(version: PlanVersion) -> str:
    route = ROUTE_LABELS.get(
        version.plan.protocol_version.route, version.plan.protocol_version.route
    )
    dose = f"{_number(version.dose_mg)} mg {route.lower()}"
    if (per_kg := _per_kg(version)) is not None:
        dose += f" ({_number(per_kg)} mg/kg for {_number(version.weight_kg)} kg)"
    parts = [dose, *_how(version)]
    days = _dates(version)
    if version.kind in ("pause", "stop"):
        parts.append("no doses while " + ("paused" if version.kind == "pause" else "stopped"))
    elif days:
        count = f"{len(days)} session{'s' if len(days) != 1 else ''}"
        parts.append(f"{count} from {days[0].isoformat()} to {days[-1].isoformat()}")
    return ", ".join(parts) + f" ({version.phase} phase)"


def _dosage(version: PlanVersion) -> dict[str, Any]:
    route_code = version.plan.protocol_version.route
    route = ROUTE_LABELS.get(route_code, route_code)
    dose_and_rate: dict[str, Any] = {"doseQuantity": _quantity(version.dose_mg, "mg")}
    if version.rate_mg_per_h is not None:
        dose_and_rate["rateQuantity"] = _quantity(version.rate_mg_per_h, "mg/h")
    dosage: dict[str, Any] = {"sequence": 1, "text": dosage_text(version)}
    if days := _dates(version):
        bounds = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
        dosage["timing"] = {"repeat": {"count": len(days), "boundsPeriod": bounds}}
    dosage["route"] = {
        "coding": [{"system": ROUTE_SYSTEM, "code": route_code, "display": route}],
        "text": route,
    }
    dosage["doseAndRate"] = [dose_and_rate]
    dosage["maxDosePerAdministration"] = _quantity(version.max_mg, "mg")
    return dosage


def to_fhir_medication_request(
    version: PlanVersion,
    *,
    patient_id: int,
    plan_status: str,
    replaced_by: int | None,
    prior_id: int | None,
) -> dict[str, Any]:
    """The MedicationRequest for a signed ``version`` (its plan, protocol version, signer and
    doses joined), given its plan's status and the versions it replaced and was replaced by."""
    signed_at, signer = version.signed_at, version.signed_by
    if signed_at is None or signer is None:
        raise ValueError(f"plan version {version.pk} is not signed: it is no order")
    product = version.plan.protocol_version.protocol.product
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(version.pk),
        "meta": {"profile": [US_CORE_MEDICATION_REQUEST]},
        "identifier": [
            {"system": PLAN_VERSION_SYSTEM, "value": f"{version.plan_id}.{version.number}"}
        ],
        "status": request_status(plan_status, replaced_by is not None),
    }
    if replaced_by is not None:
        resource["statusReason"] = {"text": f"Replaced by MedicationRequest/{replaced_by}"}
    resource |= {
        "intent": "order",
        "category": [OUTPATIENT],
        "reportedBoolean": False,
        "medicationCodeableConcept": {"text": product.name},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": utc(signed_at),
        "requester": {"reference": f"Practitioner/{signer.pk}", "display": signer.full_name},
        "groupIdentifier": {"system": PLAN_SYSTEM, "value": str(version.plan_id)},
    }
    if version.reason:
        resource["note"] = [{"text": version.reason}]
    resource["dosageInstruction"] = [_dosage(version)]
    if prior_id is not None:
        resource["priorPrescription"] = {"reference": f"MedicationRequest/{prior_id}"}
    return resource
