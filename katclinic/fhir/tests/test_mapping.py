"""Pure mappings: saved JSON, round trips, and validation with the fhir.resources R4B models."""

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.test import SimpleTestCase
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

from katclinic.fhir.outcome import InvalidResource
from katclinic.fhir.resources.patient import FIELDS, from_fhir_patient, to_fhir_patient
from katclinic.patients.models import Patient

FIXTURES = Path(__file__).parent / "fixtures"


def saved(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def assert_valid(resource: dict[str, Any]) -> None:
    """Raise unless the R4B model of the resource's type accepts it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def full_patient() -> Patient:
    return Patient(
        pk=42,
        clinic_id=1,
        mrn="K000042",
        first_name="Ada",
        last_name="Lovelace-Byron",
        preferred_name="Addie",
        pronouns="she/her",
        date_of_birth=date(1984, 12, 10),
        sex_at_birth="female",
        email="ada@example.org",
        phone="555-0100",
        address="12 St James's Square, London",
        emergency_contact_name="Mary Somerville",
        emergency_contact_phone="555-0199",
        emergency_contact_relationship="Friend",
        stage="induction",
    )


def fields_of(patient: Patient) -> dict[str, Any]:
    return {name: getattr(patient, name) for name in FIELDS}


class PatientMappingTest(SimpleTestCase):
    def test_it_matches_the_saved_resource(self) -> None:
        self.assertEqual(to_fhir_patient(full_patient()), saved("patient.json"))

    def test_the_emitted_patient_is_valid_fhir(self) -> None:
        assert_valid(to_fhir_patient(full_patient()))
        assert_valid(
            to_fhir_patient(
                Patient(
                    pk=1, mrn="K1", first_name="A", last_name="B", date_of_birth=date(2000, 1, 1)
                )
            )
        )

    def test_a_round_trip_keeps_every_field(self) -> None:
        patient = full_patient()
        self.assertEqual(from_fhir_patient(to_fhir_patient(patient)), fields_of(patient))

    def test_a_minimal_patient_round_trips_with_empty_fields(self) -> None:
        patient = Patient(
            pk=1, mrn="K1", first_name="A", last_name="B", date_of_birth=date(2000, 1, 1)
        )
        self.assertEqual(from_fhir_patient(to_fhir_patient(patient)), fields_of(patient))

    def test_it_names_every_failing_element(self) -> None:
        resource = {
            "resourceType": "Patient",
            "name": [{"family": "X" * 101, "given": ["Y"]}],
            "birthDate": "1990-02-30",
            "gender": "woman",
            "telecom": [{"system": "email", "value": "not-an-address"}],
        }
        with self.assertRaises(InvalidResource) as caught:
            from_fhir_patient(resource)
        self.assertEqual(
            sorted(issue.expression for issue in caught.exception.issues),
            [
                "Patient.birthDate",
                "Patient.gender",
                "Patient.name[0].family",
                "Patient.telecom[0].value",
            ],
        )

    def test_a_patient_without_a_name_or_birth_date_is_refused(self) -> None:
        with self.assertRaises(InvalidResource) as caught:
            from_fhir_patient({"resourceType": "Patient"})
        self.assertEqual({i.code for i in caught.exception.issues}, {"required"})


names = (
    st.text(st.characters(categories=["L"], include_characters=" '-"), min_size=1, max_size=100)
    .map(str.strip)
    .filter(bool)
)


class PatientRoundTripPropertyTest(SimpleTestCase):
    @settings(max_examples=200, deadline=None)
    @given(
        first=names,
        last=names,
        preferred=names | st.just(""),
        born=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
        sex=st.sampled_from(["female", "male", "other", "unknown"]),
    )
    def test_any_name_and_birth_date_survive_the_round_trip(
        self, first: str, last: str, preferred: str, born: date, sex: str
    ) -> None:
        patient = Patient(
            pk=7,
            mrn="K000007",
            first_name=first,
            last_name=last,
            preferred_name=preferred,
            date_of_birth=born,
            sex_at_birth=sex,
        )
        resource = to_fhir_patient(patient)
        assert_valid(resource)
        self.assertEqual(from_fhir_patient(resource), fields_of(patient))
