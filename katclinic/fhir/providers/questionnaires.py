"""Questionnaire: the shipped instrument definitions, mapped by the measures app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from katclinic.clinics.models import Clinic
from katclinic.fhir.registry import ResourceType, SearchParam, register
from katclinic.fhir.resources.loinc import canonical, with_loinc
from katclinic.fhir.search import parse_token
from katclinic.measures.fhir_questionnaire import to_fhir_questionnaire
from katclinic.measures.scoring import InstrumentDefinition, load_builtin_instruments

Definitions = list[InstrumentDefinition]


def _rows(clinic: Clinic) -> Definitions:
    return sorted(load_builtin_instruments().values(), key=lambda d: d.key)


def _lookup(rows: Definitions, raw: str) -> InstrumentDefinition | None:
    return next((d for d in rows if d.key.replace("_", "-") == raw), None)


def _matching(
    test: Callable[[InstrumentDefinition, str], bool],
) -> Callable[[Definitions, str], Definitions]:
    def apply(rows: Definitions, raw: str) -> Definitions:
        values = raw.split(",")
        return [d for d in rows if any(test(d, value) for value in values)]

    return apply


def _has_url(definition: InstrumentDefinition, value: str) -> bool:
    url, _, version = value.partition("|")
    resource: dict[str, Any] = to_fhir_questionnaire(definition)
    if url == canonical(definition):
        return True  # LOINC's form of the instrument, whatever LOINC release is named
    return resource["url"] == url and version in ("", resource["version"])


def _has_code(definition: InstrumentDefinition, value: str) -> bool:
    system, code = parse_token(value)
    return definition.code.code == code and system in (None, "", definition.code.system)


QUESTIONNAIRE = register(
    ResourceType(
        name="Questionnaire",
        perm=None,
        rows=_rows,
        render=lambda definition: with_loinc(to_fhir_questionnaire(definition), definition),
        patient_field=None,
        lookup=_lookup,
        mandatory=("status",),
        params=(
            SearchParam(
                "url", "uri", "Canonical URL, optionally with |version", _matching(_has_url)
            ),
            SearchParam(
                "code", "token", "Instrument code (LOINC where it has one)", _matching(_has_code)
            ),
            SearchParam(
                "status",
                "token",
                "Always active",
                _matching(lambda d, v: v.rpartition("|")[2] == "active"),
            ),
            SearchParam(
                "name",
                "string",
                "Start of the title, any case",
                _matching(lambda d, v: d.title.lower().startswith(v.lower())),
            ),
        ),
    )
)
