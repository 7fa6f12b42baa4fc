"""A scored Response -> FHIR Observation of its total (R4; identical in R4B here).

Category ``survey``, code the instrument's total code (LOINC 44261-6 for the PHQ-9 and
70274-6 for the GAD-7, else the local instrument code system), ``valueInteger`` the
stored total, ``derivedFrom`` the QuestionnaireResponse, the severity band as the
interpretation text and subscales as components. The Observation shares the response's
id: there is one score Observation per scored response.

A total coded in LOINC (the PHQ-9's 44261-6, the GAD-7's 70274-6) meets US Core
Observation Screening Assessment 6.1.0
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-observation-screening-assessment.html)
and declares it: status, category survey, code, the patient, when, who performed it (the
patient for a self-report, the clinician who entered a clinician rating), the value and
the QuestionnaireResponse it was derived from. A total coded only in the local system
does not declare it, since the profile's codes are LOINC's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.resources.questionnaire_response import response_author, response_status
from katclinic.fhir.search import utc
from katclinic.measures.scoring import Coding, InstrumentDefinition

if TYPE_CHECKING:
    from katclinic.measures.models import Response

SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
LOCAL_INSTRUMENT_SYSTEM = "urn:katclinic:instrument"
US_CORE_SCREENING = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-screening-assessment"
)
LOINC = "http://loinc.org"
STATUS = {
    "completed": "final",
    "amended": "amended",
    "entered-in-error": "entered-in-error",
    "in-progress": "preliminary",
}


def total_coding(definition: InstrumentDefinition) -> dict[str, Any]:
    """The code of the instrument's total (falls back to ``<key>-total`` in the local system)."""
    code = definition.total_code or Coding(
        system=LOCAL_INSTRUMENT_SYSTEM,
        code=f"{definition.key}-total",
        display=f"{definition.title} total",
    )
    return code.model_dump(exclude_none=True)


def to_fhir_observation(response: Response, definition: InstrumentDefinition) -> dict[str, Any]:
    """The score Observation of ``response`` (which must have a total)."""
    coding = total_coding(definition)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(response.pk),
    }
    if coding["system"] == LOINC:
        resource["meta"] = {"profile": [US_CORE_SCREENING]}
    resource |= {
        "status": STATUS[response_status(response)],
        "category": [SURVEY],
        "code": {"coding": [coding], "text": f"{definition.title} total score"},
        "subject": {"reference": f"Patient/{response.patient_id}"},
        "effectiveDateTime": utc(response.submitted_at),
        "issued": utc(response.submitted_at),
    }
    performer = response_author(response, definition)
    if performer:
        resource["performer"] = [performer]
    resource |= {
        "valueInteger": response.total,
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.pk}"}],
    }
    if response.band:
        resource["interpretation"] = [{"text": response.band}]
    components = _components(response, definition)
    if components:
        resource["component"] = components
    return resource


def _components(response: Response, definition: InstrumentDefinition) -> list[dict[str, Any]]:
    values = response.subscales or {}
    out = []
    for subscale in definition.subscales:
        value = values.get(subscale.key)
        if value is None:
            continue
        code = subscale.code or Coding(
            system=LOCAL_INSTRUMENT_SYSTEM, code=f"{definition.key}-{subscale.key}"
        )
        out.append(
            {
                "code": {"coding": [code.model_dump(exclude_none=True)], "text": subscale.label},
                "valueInteger": value,
            }
        )
    return out
