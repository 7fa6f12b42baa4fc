"""Pure mapping of stored responses and scores to FHIR R4 resources (as dicts).

The score is an Observation (category ``survey``, LOINC-coded total where LOINC has a
code, e.g. PHQ-9 total 44261-6, https://loinc.org/44261-6/) derived from the QuestionnaireResponse.
"""

from __future__ import annotations

from typing import Any

from katclinic.measures.catalogue import definition_of
from katclinic.measures.fhir_questionnaire import (
    LOCAL_ANSWER_SYSTEM,
    ORDINAL_VALUE_URL,
    QUESTIONNAIRE_URL_PREFIX,
)
from katclinic.measures.models import Response
from katclinic.measures.scoring import InstrumentDefinition, Item

SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}


def _iso(response: Response) -> str:
    return response.submitted_at.isoformat(timespec="seconds")


def _answer(item: Item, value: int | bool) -> dict[str, Any]:
    if item.type == "boolean":
        return {"valueBoolean": bool(value)}
    option = next(o for o in item.answer_options if o.value == value)
    coding = {"system": LOCAL_ANSWER_SYSTEM, "code": str(value), "display": option.display}
    if option.code is not None:
        coding |= {"system": option.code.system, "code": option.code.code}
    return {
        "valueCoding": coding | {"extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": value}]}
    }


def to_fhir_questionnaire_response(
    response: Response, definition: InstrumentDefinition | None = None
) -> dict[str, Any]:
    """The answers as an R4 QuestionnaireResponse; a correction is ``amended``."""
    definition = definition or definition_of(response.instrument)
    items = []
    for item in definition.items:
        value = response.answers.get(item.link_id)
        if value is None:
            continue
        items.append({"linkId": item.link_id, "text": item.text, "answer": [_answer(item, value)]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"qr-{response.pk}",
        "questionnaire": f"{QUESTIONNAIRE_URL_PREFIX}{response.instrument_key}|{response.instrument_version}",
        "status": "amended"
        if response.corrects_id
        else ("completed" if response.complete else "in-progress"),
        "subject": {"reference": f"Patient/{response.patient_id}"},
        "authored": _iso(response),
        "item": items,
    }


def _code(definition: InstrumentDefinition) -> dict[str, Any]:
    coding = (definition.total_code or definition.code).model_dump(exclude_none=True)
    return {"coding": [coding], "text": coding.get("display", definition.title)}


def to_fhir_observation(
    response: Response, definition: InstrumentDefinition | None = None
) -> dict[str, Any]:
    """The stored score as an Observation derived from the QuestionnaireResponse."""
    definition = definition or definition_of(response.instrument)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"score-{response.pk}",
        "status": "amended" if response.corrects_id else "final",
        "category": [SURVEY],
        "code": _code(definition),
        "subject": {"reference": f"Patient/{response.patient_id}"},
        "effectiveDateTime": _iso(response),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/qr-{response.pk}"}],
    }
    if response.total is not None:
        observation["valueInteger"] = response.total
    elif response.risk:
        observation["valueCodeableConcept"] = {"text": f"{response.risk} risk"}
    else:
        observation["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "asked-unknown",
                }
            ]
        }
    if response.band:
        observation["interpretation"] = [{"text": response.band}]
    return observation
