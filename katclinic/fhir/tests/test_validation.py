"""The project's fast import models never accept what the fhir.resources R4B models refuse."""

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


PATIENT = to_fhir_patient(full_patient())
PATHS = [p for p in _paths(PATIENT) if p[0] not in ("resourceType", "id")]


class FastValidationTest(SimpleTestCase):
    def test_the_served_patient_passes_the_fast_models(self) -> None:
        self.assertTrue(accepted({k: v for k, v in PATIENT.items() if k != "id"}, "Patient"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(PATHS), ODD_VALUES)
    def test_whatever_the_fast_models_accept_the_library_accepts(
        self, path: tuple[Any, ...], value: Any
    ) -> None:
        resource = _replace(PATIENT, path, value)
        if accepted(resource, "Patient"):
            self.assertEqual(library_issues(resource, "Patient"), [], (path, value))

    def test_valid_fhir_outside_the_subset_is_judged_by_the_library(self) -> None:
        resource = {**PATIENT, "maritalStatus": {"text": "Married"}}
        self.assertFalse(accepted(resource, "Patient"))
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
        self.assertFalse(accepted(resource, "Patient"))
        self.assertNotEqual(structure_issues(resource, "Patient"), [])
