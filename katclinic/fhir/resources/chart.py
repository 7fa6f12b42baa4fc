"""Condition, AllergyIntolerance and MedicationStatement from the patient's chart (R4; R4B
identical here).

Diagnoses are recorded with an ICD-10-CM code and are the problems the clinic treats, so
each is an active problem-list Condition. It meets the US Core 6.1.0 Condition Problems and
Health Concerns profile (category, code, subject, clinical status, onset and recorded date
where known), so it declares it. Allergies and medications are recorded as text, not as
coded substances or RxNorm drugs, and US Core 6.1.0 profiles no MedicationStatement.

An allergy meets the US Core AllergyIntolerance 6.1.0 profile and declares it. Its code and
reaction manifestation have extensible bindings, and US Core 6.1.0 reads an extensible
binding on a CodeableConcept as allowing text alone when only text is available
(https://hl7.org/fhir/us/core/STU6.1/general-requirements.html#extensible-binding-for-coded-elements),
which is what the chart records: the substance and the reaction as the clinician wrote them.
The clinical status is always given; the verification status is must-support, but the chart
does not record one, and US Core 6.1.0 has a server leave out an element it holds no data
for (https://hl7.org/fhir/us/core/STU6.1/must-support.html), so it is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.resources.charge_item import ICD10CM
from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.patients.models import Allergy, Diagnosis, Medication

US_CORE_CONDITION = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns"
)
US_CORE_ALLERGY_INTOLERANCE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance"
)
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
# Allergy severities recorded -> AllergyIntolerance.reaction.severity ("unknown" is left out).
SEVERITIES = ("mild", "moderate", "severe")
PRACTITIONER = "Practitioner/{}"


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def to_fhir_condition(diagnosis: Diagnosis) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(diagnosis.pk),
        "meta": {"profile": [US_CORE_CONDITION]},
        "clinicalStatus": _concept(CONDITION_CLINICAL, "active", "Active"),
        "category": [_concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": {
            "coding": [
                {
                    "system": ICD10CM,
                    "code": diagnosis.icd10_code,
                    "display": diagnosis.description,
                }
            ],
            "text": diagnosis.description,
        },
        "subject": {"reference": f"Patient/{diagnosis.patient_id}"},
    }
    if diagnosis.onset:
        resource["onsetDateTime"] = diagnosis.onset.isoformat()
    resource["recordedDate"] = utc(diagnosis.recorded_at)
    resource["recorder"] = {"reference": PRACTITIONER.format(diagnosis.recorded_by_id)}
    if diagnosis.is_primary:
        resource["note"] = [{"text": "Primary diagnosis"}]
    return resource


def allergy_status(allergy: Allergy) -> str:
    return "active" if allergy.is_active else "inactive"


def to_fhir_allergy_intolerance(allergy: Allergy) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy.pk),
        "meta": {"profile": [US_CORE_ALLERGY_INTOLERANCE]},
        "clinicalStatus": _concept(ALLERGY_CLINICAL, allergy_status(allergy)),
        "code": {"text": allergy.substance},
        "patient": {"reference": f"Patient/{allergy.patient_id}"},
        "recordedDate": utc(allergy.recorded_at),
        "recorder": {"reference": PRACTITIONER.format(allergy.recorded_by_id)},
    }
    if allergy.reaction:
        reaction: dict[str, Any] = {"manifestation": [{"text": allergy.reaction}]}
        if allergy.severity in SEVERITIES:
            reaction["severity"] = allergy.severity
        resource["reaction"] = [reaction]
    return resource


def medication_status(medication: Medication) -> str:
    return "active" if medication.is_active else "stopped"


def to_fhir_medication_statement(medication: Medication) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": str(medication.pk),
        "status": medication_status(medication),
        "medicationCodeableConcept": {"text": medication.name},
        "subject": {"reference": f"Patient/{medication.patient_id}"},
        "dateAsserted": utc(medication.recorded_at),
        "informationSource": {"reference": PRACTITIONER.format(medication.recorded_by_id)},
    }
    period = {
        key: day.isoformat()
        for key, day in (("start", medication.started_on), ("end", medication.stopped_on))
        if day
    }
    if period:
        resource["effectivePeriod"] = period
    if medication.dose:
        resource["dosage"] = [{"text": medication.dose}]
    if medication.flags:
        resource["note"] = [{"text": "Interaction flags: " + ", ".join(medication.flags)}]
    return resource
