"""Condition, AllergyIntolerance, MedicationStatement, Practitioner and Organization through
the facade, from records made with the patients services; includes of common pairs."""

from __future__ import annotations

from datetime import date
from typing import Any

from katclinic.audit.models import AuditEvent
from katclinic.fhir.resources.chart import US_CORE_ALLERGY_INTOLERANCE, US_CORE_CONDITION
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_response
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.patients import services
from katclinic.patients.forms import DiagnosisData
from katclinic.patients.models import Medication


class ChartResourceTest(FhirTestCase):
    diagnosis: Any
    allergy: Any
    medication: Any
    stopped: Any
    other: Any

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.paula.npi = "1245319599"
        cls.paula.save()
        cls.clinic.npi, cls.clinic.tax_id, cls.clinic.phone = "1234567893", "12-3456789", "555-0100"
        cls.clinic.save()
        data: DiagnosisData = {
            "icd10_code": "F33.2",
            "description": "Major depressive disorder, recurrent, severe",
        }
        cls.diagnosis = services.add_diagnosis(
            patient=cls.pat,
            data=data | {"is_primary": True, "onset": date(2020, 5, 1)},
            by=cls.paula,
        )
        cls.allergy = services.add_allergy(
            patient=cls.pat,
            data={"substance": "Penicillin", "reaction": "Hives", "severity": "moderate"},
            by=cls.paula,
        )
        cls.medication = services.add_medication(
            patient=cls.pat,
            data={"name": "Sertraline", "dose": "50 mg daily", "started_on": date(2024, 1, 2)},
            by=cls.paula,
        )
        cls.stopped = services.add_medication(
            patient=cls.pat, data={"name": "Lorazepam"}, by=cls.paula
        )
        Medication.objects.filter(pk=cls.stopped.pk).update(is_active=False)
        cls.stopped.refresh_from_db()
        cls.other = services.add_diagnosis(patient=cls.stranger, data=data, by=cls.oscar)

    def read(self, path: str, user: Any = None) -> dict[str, Any]:
        response = self.get(path, user or self.paula)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        assert_valid(body)
        return body

    def ids(self, type_name: str, user: Any = None, **params: Any) -> list[str]:
        response = self.get(type_name, user or self.paula, **params)
        self.assertEqual(response.status_code, 200, response.content)
        assert_valid(response.json())
        return [e["resource"]["id"] for e in response.json()["entry"]]

    def test_a_diagnosis_is_a_us_core_problem_condition(self) -> None:
        condition = self.read(f"Condition/{self.diagnosis.pk}")
        self.assertEqual(condition["meta"]["profile"], [US_CORE_CONDITION])
        self.assertEqual(condition["code"]["coding"][0]["code"], "F33.2")
        self.assertEqual(condition["category"][0]["coding"][0]["code"], "problem-list-item")
        self.assertEqual(condition["onsetDateTime"], "2020-05-01")
        mine = [str(self.diagnosis.pk)]
        self.assertEqual(
            self.ids("Condition", code="http://hl7.org/fhir/sid/icd-10-cm|f33.2"), mine
        )
        self.assertEqual(self.ids("Condition", code="F41.1"), [])
        self.assertEqual(self.ids("Condition", category="problem-list-item"), mine)
        self.assertEqual(self.ids("Condition", **{"clinical-status": "active"}), mine)
        self.assertEqual(self.ids("Condition", **{"onset-date": "lt2020"}), [])

    def test_allergies_and_medications_as_recorded(self) -> None:
        allergy = self.read(f"AllergyIntolerance/{self.allergy.pk}")
        # Text only, which US Core 6.1.0's extensible binding allows when only text is held.
        self.assertEqual(allergy["meta"]["profile"], [US_CORE_ALLERGY_INTOLERANCE])
        self.assertEqual(allergy["code"], {"text": "Penicillin"})
        self.assertEqual(allergy["reaction"][0]["severity"], "moderate")
        statement = self.read(f"MedicationStatement/{self.medication.pk}")
        self.assertEqual(
            (statement["status"], statement["dosage"][0]["text"]), ("active", "50 mg daily")
        )
        self.assertEqual(self.ids("MedicationStatement", status="stopped"), [str(self.stopped.pk)])
        self.assertEqual(
            self.ids("MedicationStatement", effective="ge2024-01-01"), [str(self.medication.pk)]
        )
        self.assertEqual(self.ids("AllergyIntolerance", **{"clinical-status": "inactive"}), [])

    def test_reads_are_audited_and_other_clinics_rows_are_not_found(self) -> None:
        before = self.events()
        self.read(f"Condition/{self.diagnosis.pk}")
        event = AuditEvent.objects.latest("pk")
        self.assertEqual((self.events(), event.object_type), (before + 1, "fhir.Condition"))
        self.assertEqual(self.get(f"Condition/{self.other.pk}", self.paula).status_code, 404)
        self.assertNotIn(str(self.other.pk), self.ids("Condition"))
        self.assertEqual(self.ids("Condition", self.oscar), [str(self.other.pk)])
        self.assertEqual(self.get(f"Condition/{self.diagnosis.pk}", self.alice).status_code, 403)

    def test_practitioners_show_name_and_npi_only_and_only_this_clinics(self) -> None:
        paula = self.read(f"Practitioner/{self.paula.pk}", self.alice)
        self.assertEqual(set(paula), {"resourceType", "id", "meta", "active", "name", "identifier"})
        self.assertEqual(paula["identifier"][0]["value"], "1245319599")
        self.assertEqual(self.get(f"Practitioner/{self.oscar.pk}", self.alice).status_code, 404)
        self.assertEqual(self.ids("Practitioner", identifier="1245319599"), [str(self.paula.pk)])
        self.assertEqual(self.ids("Practitioner", name="pau"), [str(self.paula.pk)])

    def test_the_clinic_is_an_organization_with_its_npi_not_its_tax_id(self) -> None:
        clinic = self.read(f"Organization/{self.clinic.pk}", self.pat_user)
        self.assertEqual(
            clinic["identifier"],
            [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        )
        self.assertNotIn("12-3456789", str(clinic))
        self.assertEqual(self.get(f"Organization/{self.other_clinic.pk}").status_code, 404)

    def test_bad_parameters_name_themselves(self) -> None:
        for type_name, name, value in (
            ("Condition", "recorded-date", "yesterday"),
            ("MedicationStatement", "effective", "2024-13"),
            ("AllergyIntolerance", "severity", "high"),
        ):
            response = self.get(type_name, self.paula, **{name: value})
            self.assertEqual(response.status_code, 400, (type_name, name))
            issue = response.json()["issue"][0]
            self.assertIn(name, issue.get("expression", [""])[0] + issue["diagnostics"])


class IncludeTest(FhirTestCase):
    def entries(self, type_name: str, user: Any = None, **params: Any) -> list[tuple[str, str]]:
        response = self.get(type_name, user or self.paula, **params)
        self.assertEqual(response.status_code, 200, response.content)
        assert_valid(response.json())
        return [
            (f"{e['resource']['resourceType']}/{e['resource']['id']}", e["search"]["mode"])
            for e in response.json()["entry"]
        ]

    def test_observation_includes_its_patient_and_patient_revincludes_observations(self) -> None:
        first, second = make_response(self.pat), make_response(self.pat, total=4)
        found = self.entries("Observation", _include="Observation:patient")
        self.assertEqual(found[-1], (f"Patient/{self.pat.pk}", "include"))
        self.assertEqual(len(found), 3)  # the patient once, for both observations
        found = self.entries("Patient", _id=self.pat.pk, _revinclude="Observation:patient")
        self.assertEqual(
            found,
            [
                (f"Patient/{self.pat.pk}", "match"),
                (f"Observation/{second.pk}", "include"),
                (f"Observation/{first.pk}", "include"),
            ],
        )

    def test_a_patient_token_includes_only_its_own_compartment(self) -> None:
        make_response(self.pat)
        make_response(self.quinn)
        found = self.entries(
            "Patient", self.pat_user, _id=self.pat.pk, _revinclude="Observation:patient"
        )
        self.assertEqual({kind.split("/")[0] for kind, _ in found}, {"Patient", "Observation"})
        self.assertEqual(len(found), 2)

    def test_an_unknown_include_is_a_400_naming_it_and_nothing_is_audited(self) -> None:
        make_response(self.pat)
        before = self.events()
        for param, value in (
            ("_include", "Observation:specimen"),
            ("_include", "Patient:link"),
            ("_revinclude", "Flag:subject:Group"),
            ("_include:iterate", "Observation:patient"),
        ):
            response = self.get("Observation", self.paula, **{param: value})
            self.assertEqual(response.status_code, 400, value)
            issue = response.json()["issue"][0]
            self.assertEqual(issue["expression"], [param])
        self.assertEqual(self.events(), before)

    def test_the_capability_statement_lists_includes(self) -> None:
        statement = self.client.get("/fhir/R4/metadata").json()
        served = {r["type"]: r for r in statement["rest"][0]["resource"]}
        self.assertIn("Observation:patient", served["Observation"]["searchInclude"])
        self.assertIn("Coverage:beneficiary", served["Patient"]["searchRevInclude"])
        self.assertIn("ExplanationOfBenefit:claim", served["Claim"]["searchRevInclude"])
