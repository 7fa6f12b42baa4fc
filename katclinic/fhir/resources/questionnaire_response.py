"""Response <-> FHIR QuestionnaireResponse (R4; identical in R4B for the elements used).

Answers are codings from the instrument's Questionnaire (LOINC answer codes where the
instrument has them, else the measures app's local answer system), so a consumer can
link each answer back to ``Questionnaire.item.answerOption``. A response replaced by a
correction is ``entered-in-error``; the correction itself is ``amended``.

Reading one back (an import) accepts the same codings, or the option's ordinal as
``valueInteger``, and ``valueBoolean`` for yes/no items; the answers are then checked
and scored by the measures app like any other submission. A response to LOINC's form of
an instrument (``http://loinc.org/q/44249-1``, LOINC item codes as linkIds, LA answer
codes with or without their system, or only the answer's text) maps onto the same items.

Every served response meets US Core QuestionnaireResponse 6.1.0 (built on SDC's,
https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-questionnaireresponse.html)
and declares it: an identifier, the Questionnaire's canonical with its title, status, the
patient, when it was authored, who answered (the patient for a self-report, the clinician
for a rating entered by staff) and each item with its linkId, text and answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from katclinic.fhir.outcome import InvalidResource, Issue
from katclinic.fhir.resources.loinc import (
    LOINC_SYSTEM,
    TERM_PAGE,
    item_code,
    items_by_code,
    key_for_canonical,
)
from katclinic.fhir.search import utc
from katclinic.measures.fhir_questionnaire import LOCAL_ANSWER_SYSTEM, QUESTIONNAIRE_URL_PREFIX
from katclinic.measures.scoring import InstrumentDefinition, Item, validate_answers
from katclinic.measures.services import COMMENT_MAX

if TYPE_CHECKING:
    from katclinic.measures.models import Response

COMMENT_URL = "urn:katclinic:fhir:extension:response-comment"
US_CORE_QUESTIONNAIRE_RESPONSE = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"
)
RESPONSE_SYSTEM = "urn:katclinic:questionnaire-response"
# The title of a canonical's target (R4 core extension "display").
DISPLAY_URL = "http://hl7.org/fhir/StructureDefinition/display"


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
        "meta": {"profile": [US_CORE_QUESTIONNAIRE_RESPONSE]},
        "identifier": {"system": RESPONSE_SYSTEM, "value": str(response.pk)},
        "questionnaire": questionnaire_canonical(definition),
        "_questionnaire": {"extension": [{"url": DISPLAY_URL, "valueString": definition.title}]},
        "status": response_status(response),
        "subject": {"reference": f"Patient/{response.patient_id}"},
        "authored": utc(response.submitted_at),
    }
    author = response_author(response, definition)
    if author:
        resource["author"] = author
    resource["item"] = []
    if response.comment:
        resource["extension"] = [{"url": COMMENT_URL, "valueString": response.comment}]
    answers = response.answers or {}
    for item in definition.items:
        value = answers.get(item.link_id)
        entry: dict[str, Any] = {"linkId": item.link_id}
        code = item_code(item)
        if code is not None:
            entry["definition"] = TERM_PAGE.format(code=code)
        entry["text"] = item.text
        if value is not None:
            entry["answer"] = [_answer(item, value)]
        resource["item"].append(entry)
    return resource


def response_author(response: Response, definition: InstrumentDefinition) -> dict[str, str] | None:
    """Who answered: the patient for a self-report; the clinician for a rating entered by
    staff; nobody known for a clinician rating that came from elsewhere."""
    if definition.kind == "self_report":
        return {"reference": f"Patient/{response.patient_id}"}
    if response.source == "staff" and response.submitted_by_id is not None:
        return {"reference": f"Practitioner/{response.submitted_by_id}"}
    return None


def _answer(item: Item, value: int | bool) -> dict[str, Any]:
    if item.type == "boolean" or isinstance(value, bool):
        return {"valueBoolean": bool(value)}
    option = next((o for o in item.answer_options if o.value == value), None)
    if option is None:
        return {"valueInteger": int(value)}
    if option.code is None:
        return {
            "valueCoding": {
                "system": LOCAL_ANSWER_SYSTEM,
                "code": str(value),
                "display": option.display,
            }
        }
    return {
        "valueCoding": {
            "system": option.code.system,
            "code": option.code.code,
            "display": option.display,
        }
    }


def _is_option(coding: Mapping[str, Any], option: Any) -> bool:
    """Whether ``coding`` names ``option``: by its code (an LA code may come without its
    system), or, with no code at all, by the option's text."""
    system, code = coding.get("system"), coding.get("code")
    codes: set[tuple[str | None, str]] = {(LOCAL_ANSWER_SYSTEM, str(option.value))}
    if option.code is not None:
        codes.add((option.code.system, option.code.code))
        if option.code.system == LOINC_SYSTEM:
            codes.add((None, option.code.code))
    if code is not None:
        return (system, code) in codes
    display = coding.get("display")
    return (
        system in (None, LOINC_SYSTEM)
        and isinstance(display, str)
        and display.strip().casefold() == option.display.casefold()
    )


IMPORTABLE_STATUSES = ("completed", "in-progress")
Definitions = Callable[[str], InstrumentDefinition | None]


def parse_canonical(value: str) -> tuple[str, str]:
    """``urn:katclinic:questionnaire:phq9|1.0.0`` -> ("phq9", "1.0.0"); version may be ""."""
    url, _, version = value.partition("|")
    loinc = key_for_canonical(url)
    if loinc is not None:
        return loinc, ""  # a LOINC form's version is LOINC's release, not the instrument's
    if not url.startswith(QUESTIONNAIRE_URL_PREFIX):
        return "", version
    return url.removeprefix(QUESTIONNAIRE_URL_PREFIX).replace("-", "_"), version


def from_fhir_questionnaire_response(
    resource: Mapping[str, Any], definition_of_key: Definitions
) -> dict[str, Any]:
    """The submission a QuestionnaireResponse stands for, or InvalidResource naming each bad element.

    Returns ``instrument_key``, ``answers`` (link id -> ordinal or bool), ``comment``,
    ``subject`` (the reference as written) and ``authored`` (aware datetime or None).
    The answers are only mapped here; the measures app checks them against the rules.
    """
    issues: list[Issue] = []

    def fail(path: str, message: str, code: str = "value") -> None:
        issues.append(Issue(message, f"QuestionnaireResponse.{path}", code))

    status = resource.get("status")
    if status not in IMPORTABLE_STATUSES:
        fail(
            "status",
            f"only {' or '.join(IMPORTABLE_STATUSES)} responses can be imported",
            "not-supported",
        )
    key, version = parse_canonical(str(resource.get("questionnaire") or ""))
    definition = definition_of_key(key) if key else None
    if definition is None:
        fail(
            "questionnaire",
            f"must be the canonical URL of a served Questionnaire ({QUESTIONNAIRE_URL_PREFIX}<key>, "
            "or LOINC's for PHQ-9 and GAD-7: http://loinc.org/q/44249-1, http://loinc.org/q/69737-5)",
            "required",
        )
    elif version and version != definition.version:
        fail(
            "questionnaire",
            f"version {version} is not served; the current version is {definition.version}",
        )
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(reference, str) or not reference:
        fail(
            "subject",
            "must reference the patient (Patient/<id>, or the fullUrl of a Patient entry)",
            "required",
        )
    authored = _authored(resource.get("authored"), fail)
    comment = ""
    for extension in resource.get("extension") or []:
        if isinstance(extension, Mapping) and extension.get("url") == COMMENT_URL:
            comment = str(extension.get("valueString") or "")
    positions: dict[str, int] = {}
    answers = (
        _answers(resource.get("item") or [], definition, fail, positions) if definition else {}
    )
    if definition is not None and not issues:
        # The measures app's own rules: options, required answers, enableWhen, domains.
        for error in validate_answers(definition, answers):
            where = f"item[{positions[error.link_id]}]" if error.link_id in positions else "item"
            if error.kind in ("invalid_answer", "disabled") and error.link_id in positions:
                where += ".answer[0]"
            fail(
                where,
                f"{error.link_id}: {error.message}",
                "required" if error.kind == "missing" else "value",
            )
    if len(comment) > COMMENT_MAX:
        fail("extension", f"the comment is longer than {COMMENT_MAX} characters")
    if issues or definition is None:  # a missing definition is always an issue above
        raise InvalidResource(issues)
    return {
        "instrument_key": definition.key,
        "answers": answers,
        "comment": comment,
        "subject": reference,
        "authored": authored,
        "items": positions,
    }


def _authored(value: Any, fail: Callable[..., None]) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        fail("authored", "is not a date and time")
        return None
    if moment.tzinfo is None or len(str(value)) < 19:
        fail("authored", "needs a full date and time with a time zone")
        return None
    return moment


def _answers(
    items: list[Any],
    definition: InstrumentDefinition,
    fail: Callable[..., None],
    positions: dict[str, int],
) -> dict[str, int | bool]:
    known = items_by_code(definition) | {item.link_id: item for item in definition.items}
    answers: dict[str, int | bool] = {}
    for index, entry in enumerate(items):
        path = f"item[{index}]"
        link_id = entry.get("linkId") if isinstance(entry, Mapping) else None
        item = known.get(link_id) if isinstance(link_id, str) else None
        if item is None:
            fail(f"{path}.linkId", f"is not an item of {definition.title}")
            continue
        if entry.get("item"):
            fail(f"{path}.item", "nested items are not part of this questionnaire", "not-supported")
        positions.setdefault(item.link_id, index)
        given = entry.get("answer") or []
        if len(given) > 1:
            fail(f"{path}.answer", "takes one answer")
        elif given:
            if item.link_id in answers:
                fail(f"{path}.linkId", "is answered twice")
            value = _value(item, given[0], f"{path}.answer[0]", fail)
            if value is not None:
                answers[item.link_id] = value
    return answers


def _value(
    item: Item, answer: Mapping[str, Any], path: str, fail: Callable[..., None]
) -> int | bool | None:
    if item.type == "boolean":
        if not isinstance(answer.get("valueBoolean"), bool):
            fail(f"{path}.valueBoolean", "this question takes a yes/no (valueBoolean) answer")
            return None
        return bool(answer["valueBoolean"])
    if "valueInteger" in answer:
        value = answer["valueInteger"]
        if isinstance(value, int) and not isinstance(value, bool) and value in item.values:
            return value
        fail(f"{path}.valueInteger", f"must be one of {list(item.values)}")
        return None
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping):
        for option in item.answer_options:
            if _is_option(coding, option):
                return option.value
        fail(f"{path}.valueCoding", "is not one of this question's answer options")
        return None
    fail(
        path,
        "needs a valueCoding from the question's answer options (or its valueInteger ordinal)",
        "required",
    )
    return None
