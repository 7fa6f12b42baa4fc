"""LOINC forms of the instruments LOINC publishes: PHQ-9 and GAD-7.

LOINC publishes the PHQ-9 panel as 44249-1 (https://loinc.org/44249-1/) and the GAD-7
panel as 69737-5 (https://loinc.org/69737-5/), each with a FHIR Questionnaire whose
canonical URL is ``http://loinc.org/q/<panel code>``, the item codes (44250-9, ...)
as linkIds and the LA answer codes (LA6568-5 "Not at all", ...). The instrument
definitions already carry these codes; this module finds an instrument and its items
by them, so a hospital's LOINC-coded response maps onto the instrument's own items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from katclinic.measures.scoring import InstrumentDefinition, Item, load_builtin_instruments

LOINC_SYSTEM = "http://loinc.org"
CANONICAL_PREFIX = "http://loinc.org/q/"
# The LOINC term page of an item or panel code.
TERM_PAGE = "https://loinc.org/{code}/"


def canonical(definition: InstrumentDefinition) -> str | None:
    """``http://loinc.org/q/44249-1`` for an instrument coded as a LOINC panel, else None."""
    code = definition.code
    if code.system != LOINC_SYSTEM:
        return None
    return CANONICAL_PREFIX + code.code


def key_for_canonical(url: str) -> str | None:
    """The instrument key a LOINC Questionnaire canonical stands for (None if none)."""
    if not url.startswith(CANONICAL_PREFIX):
        return None
    wanted = url.removeprefix(CANONICAL_PREFIX)
    return next(
        (
            key
            for key, definition in load_builtin_instruments().items()
            if canonical(definition) == CANONICAL_PREFIX + wanted
        ),
        None,
    )


def item_code(item: Item) -> str | None:
    """The LOINC code of an item, where it has one."""
    if item.code is None or item.code.system != LOINC_SYSTEM:
        return None
    return item.code.code


def items_by_code(definition: InstrumentDefinition) -> dict[str, Item]:
    return {code: item for item in definition.items if (code := item_code(item))}


def with_loinc(resource: dict[str, Any], definition: InstrumentDefinition) -> dict[str, Any]:
    """A served Questionnaire naming its LOINC form in ``derivedFrom`` and each coded item's
    LOINC term in ``definition``."""
    url = canonical(definition)
    if url is None:
        return resource
    out = {**resource, "derivedFrom": [url]}
    out["item"] = [_item_definition(entry, definition) for entry in resource.get("item", [])]
    return out


def _item_definition(entry: Mapping[str, Any], definition: InstrumentDefinition) -> dict[str, Any]:
    item = next((i for i in definition.items if i.link_id == entry.get("linkId")), None)
    code = item_code(item) if item is not None else None
    if code is None:
        return dict(entry)
    # definition sits before code in the element order readers expect.
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "code":
            out["definition"] = TERM_PAGE.format(code=code)
        out[key] = value
    out.setdefault("definition", TERM_PAGE.format(code=code))
    return out
