"""Pure mapping between instrument definitions and FHIR R4 Questionnaire JSON.

A Questionnaire carries the items, codes, answer options (with their ordinal
weights in the ``ordinalValue`` extension) and ``enableWhen`` conditions. What
FHIR has no element for (scoring rule, bands, flags, triage, outcome criteria,
sources) travels beside it as the ``scoring_metadata`` dict, so that
``from_fhir_questionnaire(to_fhir_questionnaire(d), scoring_metadata(d)) == d``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .scoring import DefinitionError, InstrumentDefinition, Item, load_definition

__all__ = ["from_fhir_questionnaire", "scoring_metadata", "to_fhir_questionnaire"]

ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
QUESTIONNAIRE_URL_PREFIX = "urn:katclinic:questionnaire:"
# Answer options without an external code get a coding in this local system
# (code = the ordinal value); it maps back to "no code" on the way in.
LOCAL_ANSWER_SYSTEM = "urn:katclinic:answer"

_CARRIED_BY_FHIR = {"key", "version", "title", "description", "licence", "code", "items"}


def scoring_metadata(definition: InstrumentDefinition) -> dict[str, Any]:
    """The parts of a definition a Questionnaire cannot carry, as JSON-ready data."""
    data = definition.model_dump(mode="json", exclude=_CARRIED_BY_FHIR, exclude_none=True)
    data["scored_items"] = [item.link_id for item in definition.items if item.scored]
    return data


def to_fhir_questionnaire(definition: InstrumentDefinition) -> dict[str, Any]:
    """An R4 Questionnaire resource (as a dict) for ``definition``."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": definition.key.replace("_", "-"),
        "url": QUESTIONNAIRE_URL_PREFIX + definition.key,
        "version": definition.version,
        "name": re.sub(r"[^A-Za-z0-9]", "_", definition.key.upper()),
        "title": definition.title,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": definition.licence,
        "code": [_coding(definition.code.model_dump(exclude_none=True))],
        "item": [_fhir_item(item, definition) for item in definition.items],
    }
    if definition.description:
        resource["description"] = definition.description
    return resource


def _coding(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("system", "code", "display") if data.get(key) is not None}


def _answer_coding(item: Item, value: int) -> dict[str, Any]:
    option = next(option for option in item.answer_options if option.value == value)
    if option.code is None:
        return {"system": LOCAL_ANSWER_SYSTEM, "code": str(value), "display": option.display}
    return {"system": option.code.system, "code": option.code.code, "display": option.display}


def _fhir_item(item: Item, definition: InstrumentDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
    if item.code is not None:
        out["code"] = [_coding(item.code.model_dump(exclude_none=True))]
    out["type"] = item.type
    out["required"] = item.required
    condition = item.enable_when
    if condition is not None:
        target = definition.item(condition.item)
        when: dict[str, Any] = {"question": condition.item, "operator": condition.operator}
        if isinstance(condition.value, bool):
            when["answerBoolean"] = condition.value
        else:
            when["answerCoding"] = _answer_coding(target, condition.value)
        out["enableWhen"] = [when]
    if item.answer_options:
        out["answerOption"] = [
            {
                "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": option.value}],
                "valueCoding": _answer_coding(item, option.value),
            }
            for option in item.answer_options
        ]
    return out


def from_fhir_questionnaire(
    resource: Mapping[str, Any], scoring: Mapping[str, Any]
) -> InstrumentDefinition:
    """Rebuild a definition from a Questionnaire made by ``to_fhir_questionnaire``
    plus its ``scoring_metadata``; raise DefinitionError naming the bad element."""
    if resource.get("resourceType") != "Questionnaire":
        raise DefinitionError("resourceType: expected 'Questionnaire'")
    url = str(resource.get("url", ""))
    if not url.startswith(QUESTIONNAIRE_URL_PREFIX):
        raise DefinitionError(f"url: expected a URL starting {QUESTIONNAIRE_URL_PREFIX!r}")
    scored = set(scoring.get("scored_items", ()))
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(_list(resource, "item", "Questionnaire")):
        items.append(_item_from_fhir(raw, f"item[{index}]", items, scored))
    data = {key: value for key, value in scoring.items() if key != "scored_items"}
    data |= {
        "key": url.removeprefix(QUESTIONNAIRE_URL_PREFIX),
        "version": resource.get("version"),
        "title": resource.get("title"),
        "licence": resource.get("copyright"),
        "code": _single(resource, "code", "Questionnaire"),
        "items": items,
    }
    if resource.get("description") is not None:
        data["description"] = resource["description"]
    return load_definition(data, origin=url)


def _list(container: Mapping[str, Any], name: str, path: str) -> Sequence[Mapping[str, Any]]:
    value = container.get(name, [])
    if not isinstance(value, list) or not all(isinstance(entry, Mapping) for entry in value):
        raise DefinitionError(f"{path}.{name}: expected a list of objects")
    return value


def _single(container: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any] | None:
    entries = _list(container, name, path)
    if len(entries) > 1:
        raise DefinitionError(f"{path}.{name}: expected at most one entry")
    return entries[0] if entries else None


def _item_from_fhir(
    raw: Mapping[str, Any], path: str, previous: Sequence[Mapping[str, Any]], scored: set[str]
) -> dict[str, Any]:
    link_id = raw.get("linkId")
    options = [
        _option_from_fhir(option, f"{path}.answerOption[{n}]")
        for n, option in enumerate(_list(raw, "answerOption", path))
    ]
    data: dict[str, Any] = {
        "link_id": link_id,
        "text": raw.get("text"),
        "type": raw.get("type"),
        "required": raw.get("required", False),
        "scored": link_id in scored,
        "answer_options": options,
    }
    code = _single(raw, "code", path)
    if code is not None:
        data["code"] = code
    condition = _single(raw, "enableWhen", path)
    if condition is not None:
        data["enable_when"] = _condition_from_fhir(condition, f"{path}.enableWhen[0]", previous)
    return data


def _ordinal(option: Mapping[str, Any], path: str) -> int:
    for extension in _list(option, "extension", path):
        if extension.get("url") == ORDINAL_VALUE_URL:
            value = extension.get("valueDecimal")
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                if value == int(value):
                    return int(value)
            raise DefinitionError(f"{path}: ordinalValue must be a whole number, got {value!r}")
    raise DefinitionError(f"{path}: missing the ordinalValue extension")


def _option_from_fhir(option: Mapping[str, Any], path: str) -> dict[str, Any]:
    coding = option.get("valueCoding")
    if not isinstance(coding, Mapping):
        raise DefinitionError(f"{path}.valueCoding: expected a Coding")
    data: dict[str, Any] = {"value": _ordinal(option, path), "display": coding.get("display")}
    if coding.get("system") != LOCAL_ANSWER_SYSTEM:
        data["code"] = {"system": coding.get("system"), "code": coding.get("code")}
    return data


def _condition_from_fhir(
    raw: Mapping[str, Any], path: str, previous: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    question = raw.get("question")
    condition: dict[str, Any] = {"item": question, "operator": raw.get("operator")}
    if "answerBoolean" in raw:
        return condition | {"value": raw["answerBoolean"]}
    wanted = raw.get("answerCoding")
    if not isinstance(wanted, Mapping):
        raise DefinitionError(f"{path}: expected answerBoolean or answerCoding")
    target = next((item for item in previous if item["link_id"] == question), None)
    if target is None:
        raise DefinitionError(f"{path}.question: {question!r} is not an earlier item")
    for option in target["answer_options"]:
        code = option.get("code") or {"system": LOCAL_ANSWER_SYSTEM, "code": str(option["value"])}
        if (code["system"], code["code"]) == (wanted.get("system"), wanted.get("code")):
            return condition | {"value": option["value"]}
    raise DefinitionError(f"{path}.answerCoding: not an answer option of {question!r}")
