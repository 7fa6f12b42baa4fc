"""FHIR R4 Questionnaire mapping: valid resources and a lossless round trip."""

import json
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from katclinic.measures.fhir_questionnaire import (
    ORDINAL_VALUE_URL,
    from_fhir_questionnaire,
    scoring_metadata,
    to_fhir_questionnaire,
)
from katclinic.measures.scoring import DefinitionError, load_builtin_instruments

INSTRUMENTS = load_builtin_instruments()
KEYS = sorted(INSTRUMENTS)


def item(resource: dict[str, Any], link_id: str) -> dict[str, Any]:
    return next(entry for entry in resource["item"] if entry["linkId"] == link_id)


@pytest.mark.parametrize("key", KEYS)
def test_output_is_a_valid_r4b_questionnaire(key: str) -> None:
    resource = to_fhir_questionnaire(INSTRUMENTS[key])
    parsed = Questionnaire.model_validate(resource)
    assert parsed.url == f"urn:katclinic:questionnaire:{key}"
    assert len(parsed.item or []) == len(INSTRUMENTS[key].items)


@pytest.mark.parametrize("key", KEYS)
def test_round_trip_preserves_the_definition(key: str) -> None:
    definition = INSTRUMENTS[key]
    assert from_fhir_questionnaire(
        to_fhir_questionnaire(definition), scoring_metadata(definition)
    ) == (definition)


@pytest.mark.parametrize("key", KEYS)
def test_round_trip_survives_fhir_serialisation(key: str) -> None:
    definition = INSTRUMENTS[key]
    wire = json.loads(
        Questionnaire.model_validate(to_fhir_questionnaire(definition)).model_dump_json()
    )
    metadata = json.loads(json.dumps(scoring_metadata(definition)))
    assert from_fhir_questionnaire(wire, metadata) == definition


def test_phq9_carries_loinc_codes_and_ordinal_weights() -> None:
    resource = to_fhir_questionnaire(INSTRUMENTS["phq9"])
    assert resource["code"] == [
        {
            "system": "http://loinc.org",
            "code": "44249-1",
            "display": "PHQ-9 quick depression assessment panel",
        }
    ]
    q9 = item(resource, "q9")
    assert q9["code"] == [{"system": "http://loinc.org", "code": "44260-8"}]
    assert (q9["type"], q9["required"]) == ("choice", True)
    assert q9["answerOption"][3] == {
        "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": 3}],
        "valueCoding": {
            "system": "http://loinc.org",
            "code": "LA6571-9",
            "display": "Nearly every day",
        },
    }
    assert item(resource, "difficulty")["required"] is False


def test_options_without_a_standard_code_use_the_local_answer_system() -> None:
    option = item(to_fhir_questionnaire(INSTRUMENTS["madrs"]), "q1")["answerOption"][6]
    assert option["valueCoding"] == {"system": "urn:katclinic:answer", "code": "6", "display": "6"}
    assert option["extension"][0]["valueDecimal"] == 6


def test_cssrs_items_are_boolean_with_enable_when() -> None:
    resource = to_fhir_questionnaire(INSTRUMENTS["cssrs_screener"])
    q3 = item(resource, "q3")
    assert q3["type"] == "boolean" and "answerOption" not in q3
    assert q3["enableWhen"] == [{"question": "q2", "operator": "=", "answerBoolean": True}]
    assert "enableWhen" not in item(resource, "q1")
    assert resource["name"] == "CSSRS_SCREENER" and resource["id"] == "cssrs-screener"


def test_licence_text_becomes_copyright() -> None:
    resource = to_fhir_questionnaire(INSTRUMENTS["madrs"])
    assert resource["copyright"].startswith("Licence required")


def test_scoring_metadata_holds_what_fhir_cannot() -> None:
    metadata = scoring_metadata(INSTRUMENTS["qids_sr16"])
    assert metadata["scoring"]["method"] == "domain_max"
    assert metadata["scored_items"] == [f"q{n}" for n in range(1, 17)]
    assert metadata["remission"]["threshold"] == 5
    assert "items" not in metadata and "title" not in metadata


def test_a_missing_ordinal_value_is_named() -> None:
    definition = INSTRUMENTS["gad7"]
    resource = to_fhir_questionnaire(definition)
    del resource["item"][2]["answerOption"][1]["extension"]
    with pytest.raises(
        DefinitionError, match=r"item\[2\]\.answerOption\[1\]: missing the ordinalValue"
    ):
        from_fhir_questionnaire(resource, scoring_metadata(definition))


def test_a_foreign_questionnaire_is_refused() -> None:
    definition = INSTRUMENTS["phq9"]
    resource = to_fhir_questionnaire(definition) | {"url": "http://loinc.org/q/44249-1"}
    with pytest.raises(DefinitionError, match="url: expected"):
        from_fhir_questionnaire(resource, scoring_metadata(definition))


def test_a_missing_title_is_named() -> None:
    definition = INSTRUMENTS["phq9"]
    resource = to_fhir_questionnaire(definition)
    del resource["title"]
    with pytest.raises(DefinitionError, match="title: Input should be a valid string"):
        from_fhir_questionnaire(resource, scoring_metadata(definition))
