"""Patients are judged by the fhir.resources R4B model alone; the project's fast model of an
imported QuestionnaireResponse never accepts what the R4B model refuses."""

import copy
from typing import Any

from django.test import SimpleTestCase
from hypothesis import given, settings
from hypothesis import strategies as st

from katclinic.fhir.resources.patient import to_fhir_patient
from katclinic.fhir.tests.test_mapping import full_patient
from katclinic.fhir.validation import accepted, library_issues, structure_issues

# Values that are valid or invalid for various FHIR primitives, to put anywhere in a resource.
ODD_VALUES = st.sampled_from(
    [
        "",
        " ",
        "x ",
        "a  b",
        "1990-02-30",
        "1990-13",
        "2000",
        "\t",
        "ok value",
        "female",
        "woman",
        0,
        -1,
        1,
        2**40,
        True,
        None,
        [],
        {},
        [""],
        ["a"],
        {"text": "x"},
        1.5,
        "urn:x",
        "has space",
    ]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            out += _paths(inner, (*prefix, index))
    return out


def _replace(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


PATIENT = {k: v for k, v in to_fhir_patient(full_patient()).items() if k != "id"}
RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": "urn:katclinic:questionnaire:phq9",
    "status": "completed",
    "subject": {"reference": "Patient/42"},
    "authored": "2026-01-02T10:00:00+00:00",
    "extension": [{"url": "urn:x", "valueCode": "a"}],
    "item": [
        {
            "linkId": "q1",
            "answer": [{"valueCoding": {"system": "urn:katclinic:answer", "code": "1"}}],
        },
        {"linkId": "q2", "text": "Feeling down", "answer": [{"valueInteger": 2}]},
    ],
}
PATHS = [p for p in _paths(RESPONSE) if p[0] != "resourceType"]


class PatientValidationTest(SimpleTestCase):
    def test_the_served_patient_is_valid_and_has_no_fast_model(self) -> None:
        self.assertEqual(structure_issues(PATIENT, "Patient"), [])
        self.assertFalse(accepted(PATIENT, "Patient"))

    def test_each_failing_element_is_named_by_its_path(self) -> None:
        bad = {**PATIENT, "birthDate": "1990-13-01", "name": [{"family": 7}]}
        self.assertEqual(
            {i.expression for i in structure_issues(bad, "Patient")},
            {"Patient.birthDate", "Patient.name[0].family"},
        )

    def test_valid_fhir_outside_the_imported_fields_is_accepted(self) -> None:
        resource = {**PATIENT, "maritalStatus": {"text": "Married"}}
        self.assertEqual(structure_issues(resource, "Patient"), [])
        bad = {**PATIENT, "maritalStatus": {"text": 7}}
        self.assertEqual(
            [i.expression for i in structure_issues(bad, "Patient")], ["Patient.maritalStatus.text"]
        )

    def test_two_values_in_one_extension_are_refused(self) -> None:
        resource = {
            **PATIENT,
            "extension": [{"url": "urn:x", "valueCode": "a", "valueString": "b"}],
        }
        self.assertNotEqual(structure_issues(resource, "Patient"), [])


class FastResponseValidationTest(SimpleTestCase):
    def test_the_sample_response_passes_the_fast_model(self) -> None:
        self.assertTrue(accepted(RESPONSE, "QuestionnaireResponse"))
        self.assertEqual(library_issues(RESPONSE, "QuestionnaireResponse"), [])

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(PATHS), ODD_VALUES)
    def test_whatever_the_fast_model_accepts_the_library_accepts(
        self, path: tuple[Any, ...], value: Any
    ) -> None:
        resource = _replace(RESPONSE, path, value)
        if accepted(resource, "QuestionnaireResponse"):
            self.assertEqual(library_issues(resource, "QuestionnaireResponse"), [], (path, value))

    def test_two_values_in_one_answer_are_refused(self) -> None:
        item = {"linkId": "q1", "answer": [{"valueInteger": 1, "valueString": "one"}]}
        resource = {**RESPONSE, "item": [item]}
        self.assertFalse(accepted(resource, "QuestionnaireResponse"))
        self.assertNotEqual(structure_issues(resource, "QuestionnaireResponse"), [])
