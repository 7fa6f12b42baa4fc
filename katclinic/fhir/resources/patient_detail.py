"""What a US Core Patient says beyond the chart's own fields, kept and served again.

US Core Patient 6.1.0 (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-patient.html)
carries race and ethnicity as the US Core extensions (OMB categories and detailed CDC Race
& Ethnicity codes, with a text), birth sex as the us-core-birthsex extension, the address
by part and the identifiers of other systems (a hospital's MRN). An import keeps each of
these on the record (``Patient.race``, ``ethnicity``, ``address_parts``, ``identifiers``,
``given_names``) and a read serves them again; what it cannot keep it refuses, naming the
element, so nothing is dropped without the sender knowing.

Pure functions: ``read_*`` take a resource and an issue sink, ``*_extension`` and
``*_entries`` build what is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
RACE_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
BIRTHSEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
# CDC Race & Ethnicity code system (urn:oid:2.16.840.1.113883.6.238, PHIN VADS CDCREC v1.2).
CDCREC = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
# The OMB categories (OMB Statistical Policy Directive 15, 1997) as US Core binds them
# (US Core 6.1.0 ValueSets omb-race-category and omb-ethnicity-category), with the two
# null flavours both allow.
UNSTATED = {"UNK": "Unknown", "ASKU": "Asked but no answer"}
OMB_RACE = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
}
OMB_ETHNICITY = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
# US Core Birth Sex (6.1.0 ValueSet birthsex): F, M, UNK; ASKU read as not known.
BIRTHSEX_TO_SEX = {"F": "female", "M": "male", "UNK": "unknown", "ASKU": "unknown"}
SEX_TO_BIRTHSEX = {"female": "F", "male": "M", "unknown": "UNK"}
_CDC_CODE = re.compile(r"^\d{4}-\d$", re.ASCII)
MAX_TEXT = 200
MAX_IDENTIFIERS = 20
ADDRESS_PARTS = ("city", "district", "state", "postalCode", "country")
ADDRESS_USES = ("home", "work", "temp", "old", "billing")

Fail = Callable[[str, str], None]  # (path, message)


def _kind(url: str) -> tuple[str, dict[str, str], int]:
    """The name, OMB categories and how many of them a race or ethnicity may hold."""
    if url == RACE_URL:
        return "race", OMB_RACE, len(OMB_RACE)
    return "ethnicity", OMB_ETHNICITY, 1


def read_category_extension(extension: Mapping[str, Any], path: str, fail: Fail) -> dict[str, Any]:
    """A us-core-race or us-core-ethnicity extension -> what the record keeps of it."""
    name, omb, most = _kind(str(extension.get("url")))
    kept: dict[str, Any] = {"ombCategory": [], "detailed": [], "text": ""}
    parts = extension.get("extension")
    if not isinstance(parts, list) or not parts:
        fail(path, f"a {name} extension needs its ombCategory, detailed and text parts")
        return {}
    for index, part in enumerate(parts):
        where = f"{path}.extension[{index}]"
        url = part.get("url") if isinstance(part, Mapping) else None
        if url == "text":
            text = part.get("valueString")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                fail(f"{where}.valueString", f"must be text of 1 to {MAX_TEXT} characters")
            else:
                kept["text"] = text.strip()
        elif url in ("ombCategory", "detailed"):
            coding = _read_coding(part, where, url == "ombCategory", omb, fail)
            if coding:
                kept[url].append(coding)
        else:
            fail(where, f"a {name} extension holds only ombCategory, detailed and text parts")
    if len(kept["ombCategory"]) > most:
        fail(path, f"at most {most} ombCategory codes")
    if not kept["text"]:
        fail(path, f"the {name} extension's text part is required (US Core)")
    return {key: value for key, value in kept.items() if value}


def _read_coding(
    part: Mapping[str, Any], where: str, category: bool, omb: dict[str, str], fail: Fail
) -> dict[str, str]:
    coding = part.get("valueCoding")
    if not isinstance(coding, Mapping):
        fail(f"{where}.valueCoding", "is required")
        return {}
    system, code = coding.get("system"), coding.get("code")
    if category:
        allowed = {(CDCREC, c) for c in omb} | {(NULL_FLAVOR, c) for c in UNSTATED}
        if (system, code) not in allowed:
            fail(f"{where}.valueCoding", f"must be an OMB category ({', '.join(omb)}) or UNK/ASKU")
            return {}
    elif system != CDCREC or not isinstance(code, str) or not _CDC_CODE.match(code):
        fail(f"{where}.valueCoding", f"must be a CDC Race & Ethnicity code ({CDCREC})")
        return {}
    display = coding.get("display")
    if display is not None and (not isinstance(display, str) or len(display) > MAX_TEXT):
        fail(f"{where}.valueCoding.display", f"must be text of at most {MAX_TEXT} characters")
        return {}
    known = omb.get(str(code)) or UNSTATED.get(str(code))
    return {"system": str(system), "code": str(code), "display": display or known or str(code)}


def category_extension(url: str, kept: Mapping[str, Any]) -> dict[str, Any] | None:
    """The us-core-race or us-core-ethnicity extension of what the record keeps (None if nothing)."""
    if not kept:
        return None
    parts: list[dict[str, Any]] = [
        {"url": name, "valueCoding": dict(coding)}
        for name in ("ombCategory", "detailed")
        for coding in kept.get(name, [])
    ]
    parts.append({"url": "text", "valueString": kept["text"]})
    return {"url": url, "extension": parts}


def birthsex_extension(sex_at_birth: str) -> dict[str, Any] | None:
    code = SEX_TO_BIRTHSEX.get(sex_at_birth)
    return {"url": BIRTHSEX_URL, "valueCode": code} if code else None


def read_birthsex(extension: Mapping[str, Any], path: str, fail: Fail) -> str | None:
    code = extension.get("valueCode")
    if code not in BIRTHSEX_TO_SEX:
        fail(f"{path}.valueCode", f"must be one of {', '.join(BIRTHSEX_TO_SEX)}")
        return None
    return BIRTHSEX_TO_SEX[str(code)]


def read_identifier(identifier: Mapping[str, Any], path: str, fail: Fail) -> dict[str, Any]:
    """Another system's identifier, kept as sent (system and value are required to keep it)."""
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not system.strip() or len(system) > 255:
        fail(f"{path}.system", "is required to keep an identifier (at most 255 characters)")
        return {}
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        fail(f"{path}.value", "is required (at most 100 characters)")
        return {}
    kept: dict[str, Any] = {}
    if isinstance(identifier.get("use"), str):
        kept["use"] = identifier["use"]
    if isinstance(identifier.get("type"), Mapping):
        kept["type"] = dict(identifier["type"])
    for key in sorted(set(identifier) - {"use", "type", "system", "value"}):
        fail(f"{path}.{key}", "is not kept for an identifier; leave it out")
    return kept | {"system": system.strip(), "value": value.strip()}


def read_address(address: Mapping[str, Any], path: str, fail: Fail) -> dict[str, Any]:
    """An address by part (line, city, district, state, postalCode, country, use), or {}."""
    parts: dict[str, Any] = {}
    lines = address.get("line", [])
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        fail(f"{path}.line", "must be a list of text lines")
    elif lines:
        parts["line"] = [line.strip() for line in lines if line.strip()]
    for key in ADDRESS_PARTS:
        value = address.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            fail(f"{path}.{key}", f"must be text of at most {MAX_TEXT} characters")
        elif value.strip():
            parts[key] = value.strip()
    use = address.get("use")
    if use is not None and use not in ADDRESS_USES:
        fail(f"{path}.use", f"must be one of {', '.join(ADDRESS_USES)}")
    elif use is not None and parts:
        parts["use"] = use
    for key in sorted(set(address) - {"line", "text", "use", *ADDRESS_PARTS}):
        fail(f"{path}.{key}", "is not kept for an address; leave it out")
    return parts


def address_text(parts: Mapping[str, Any]) -> str:
    """The one-line text of an address given by part, as the chart shows it."""
    words = [*parts.get("line", [])]
    words += [parts[key] for key in ("city", "state", "postalCode", "country") if parts.get(key)]
    return ", ".join(words)


def address_entry(text: str, parts: Mapping[str, Any]) -> dict[str, Any]:
    """The served address: its parts while the chart's text is still the imported one."""
    if parts and parts.get("text") == text:
        return {key: value for key, value in parts.items() if key != "text"} | {"text": text}
    return {"text": text}


def given_entry(first_name: str, given_names: list[str]) -> list[str]:
    """The given names one by one while the chart's first name still joins them."""
    if len(given_names) > 1 and " ".join(given_names) == first_name:
        return list(given_names)
    return [first_name]
