"""Response -> FHIR QuestionnaireResponse (R4; identical in R4B for the elements used).

Answers are codings from the instrument's Questionnaire (LOINC answer codes where the
instrument has them, else the measures app's local answer system), so a consumer can
link each answer back to ``Questionnaire.item.answerOption``. A response replaced by a
correction is ``entered-in-error``; the correction itself is ``amended``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc
from katclinic.measures.fhir_questionnaire import LOCAL_ANSWER_SYSTEM, QUESTIONNAIRE_URL_PREFIX
from katclinic.measures.scoring import InstrumentDefinition, Item

if TYPE_CHECKING:
    from katclinic.measures.models import Response

COMMENT_URL = "urn:katclinic:fhir:extension:response-comment"


def questionnaire_canonical(definition: InstrumentDefinition) -> str:
    return f"{QUESTIONNAIRE_URL_PREFIX}{definition.key}|{definition.version}"


def response_status(response: Response) -> str:
    if not response.is_current:
        return "entered-in-error"
    if response.corrects_id is not None:
        return "amended"
    return "completed" if response.complete else "in-progress"


def to_fhir_questionnaire_response(
    response: Response, definition: InstrumentDefinition
) -> dict[str, Any]:
    """The QuestionnaireResponse for ``response``, answered against ``definition``."""
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "questionnaire": questionnaire_canonical(definition),
        "status": response_status(response),
        "subject": {"reference": f"Patient/{response.patient_id}"},
        "authored": utc(response.submitted_at),
        "item": [],
    }
    if response.comment:
        resource["extension"] = [{"url": COMMENT_URL, "valueString": response.comment}]
    answers = response.answers or {}
    for item in definition.items:
        value = answers.get(item.link_id)
        entry: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
        if value is not None:
            entry["answer"] = [_answer(item, value)]
        resource["item"].append(entry)
    return resource


def _answer(item: Item, value: int | bool) -> dict[str, Any]:
    if item.type == "boolean" or isinstance(value, bool):
        return {"valueBoolean": bool(value)}
    option = next((o for o in item.answer_options if o.value == value), None)
    if option is None:
        return {"valueInteger": int(value)}
    if option.code is None:
        return {"valueCoding": {"system": LOCAL_ANSWER_SYSTEM, "code": str(value), "display": option.display}}  # fmt: skip
    return {"valueCoding": {"system": option.code.system, "code": option.code.code, "display": option.display}}  # fmt: skip
