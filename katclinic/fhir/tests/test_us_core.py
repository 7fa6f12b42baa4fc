"""US Core 6.1.0: every served type validates, each declared profile's must-support elements
are present, the CapabilityStatement lists the profiles and parameter definitions, and a
US Core Patient import keeps what it says or refuses it by element."""

from __future__ import annotations

import copy
from typing import Any

from django.test import Client

from katclinic.clinics.permissions import roles_allow
from katclinic.fhir.definitions import US_CORE
from katclinic.fhir.registry import REGISTRY
from katclinic.fhir.resources.chart import US_CORE_ALLERGY_INTOLERANCE, US_CORE_CONDITION
from katclinic.fhir.resources.directory import (
    NPI_SYSTEM,
    STAFF_SYSTEM,
    US_CORE_ORGANIZATION,
    US_CORE_PRACTITIONER,
)
from katclinic.fhir.resources.encounter import US_CORE_ENCOUNTER
from katclinic.fhir.resources.medication_request import US_CORE_MEDICATION_REQUEST
from katclinic.fhir.resources.observation import US_CORE_SCREENING
from katclinic.fhir.resources.patient_detail import (
    BIRTHSEX_URL,
    CDCREC,
    ETHNICITY_URL,
    RACE_URL,
    US_CORE_PATIENT,
)
from katclinic.fhir.resources.questionnaire_response import US_CORE_QUESTIONNAIRE_RESPONSE
from katclinic.fhir.resources.vital_signs import (
    US_CORE_BLOOD_PRESSURE,
    US_CORE_HEART_RATE,
    US_CORE_PULSE_OXIMETRY,
    US_CORE_RESPIRATORY_RATE,
)
from katclinic.fhir.tests import access_spec
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_checkpoint, make_response, pat_rows
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.measures.models import Source
from katclinic.patients.models import Allergy, Diagnosis, Patient
from katclinic.patients.services import update_patient

# What each declared profile marks must-support that this server's test data holds.
MUST_SUPPORT: dict[str, tuple[str, ...]] = {
    US_CORE_PATIENT: ("identifier", "name", "gender", "birthDate", "telecom", "address")
    + ("communication", "extension"),
    US_CORE_ENCOUNTER: ("identifier", "status", "class", "type", "subject", "participant")
    + ("period", "location", "serviceProvider"),
    US_CORE_SCREENING: ("status", "category", "code", "subject", "effectiveDateTime")
    + ("performer", "valueInteger", "derivedFrom"),
    US_CORE_QUESTIONNAIRE_RESPONSE: ("identifier", "questionnaire", "status", "subject")
    + ("authored", "author", "item"),
    US_CORE_CONDITION: ("clinicalStatus", "category", "code", "subject", "onsetDateTime")
    + ("recordedDate",),
    US_CORE_ORGANIZATION: ("active", "name", "identifier", "telecom", "address"),
    # Staff have no telecom or address of their own (they are reached through the clinic).
    US_CORE_PRACTITIONER: ("identifier", "name"),
    # No verification status is recorded, so it is left out (must-support: only when held).
    US_CORE_ALLERGY_INTOLERANCE: ("clinicalStatus", "code", "patient", "reaction"),
    US_CORE_MEDICATION_REQUEST: ("status", "intent", "category", "reportedBoolean")
    + ("medicationCodeableConcept", "subject", "authoredOn", "requester", "dosageInstruction"),
}
# The vital signs: each profile's must-support elements (the value, or the two sides).
VITAL_SIGN = ("status", "category", "code", "subject", "effectiveDateTime", "encounter")
MUST_SUPPORT |= {
    US_CORE_BLOOD_PRESSURE: (*VITAL_SIGN, "component"),
    US_CORE_HEART_RATE: (*VITAL_SIGN, "valueQuantity"),
    US_CORE_RESPIRATORY_RATE: (*VITAL_SIGN, "valueQuantity"),
    US_CORE_PULSE_OXIMETRY: (*VITAL_SIGN, "valueQuantity"),
}

HOSPITAL_MRN = "http://hospital.example.org/mrn"


def us_core_patient() -> dict[str, Any]:
    """A Patient as a hospital sends it under US Core 6.1.0."""
    return {
        "resourceType": "Patient",
        "meta": {"profile": [US_CORE_PATIENT]},
        "extension": [
            {
                "url": RACE_URL,
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": CDCREC, "code": "2106-3", "display": "White"},
                    },
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": CDCREC, "code": "2028-9", "display": "Asian"},
                    },
                    {
                        "url": "detailed",
                        "valueCoding": {"system": CDCREC, "code": "2039-6", "display": "Japanese"},
                    },
                    {"url": "text", "valueString": "White and Japanese"},
                ],
            },
            {
                "url": ETHNICITY_URL,
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": CDCREC, "code": "2186-5"},
                    },
                    {"url": "text", "valueString": "Not Hispanic or Latino"},
                ],
            },
            {"url": BIRTHSEX_URL, "valueCode": "F"},
        ],
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": HOSPITAL_MRN,
                "value": "H-99812",
            }
        ],
        "name": [{"use": "official", "family": "Tanaka", "given": ["Amy", "Mei"]}],
        "gender": "female",
        "birthDate": "1987-04-02",
        "telecom": [{"system": "phone", "value": "555-0142", "use": "mobile"}],
        "address": [
            {
                "use": "home",
                "line": ["49 Meadow St", "Apt 2"],
                "city": "Mounds",
                "state": "OK",
                "postalCode": "74047",
                "country": "US",
            }
        ],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}}
        ],
    }


class ServedResourcesTest(FhirTestCase):
    """Every type the facade serves, with rows made by the apps' own test builders."""

    def setUp(self) -> None:
        super().setUp()
        self.paula.npi = "1245319599"
        self.paula.full_name, self.paula.family_name = "Paula Quinn Prescott", "Prescott"
        self.paula.save()
        self.clinic.npi, self.clinic.phone = "1234567893", "555-0100"
        self.clinic.address = "1 Main St, Tulsa, OK 74103"
        self.clinic.save()
        self.pat.phone, self.pat.address = "555-0101", "2 Elm St, Tulsa"
        self.pat.save()
        rows = pat_rows(self)
        make_checkpoint(rows["administration"].session, self.nick)
        for builder in (
            access_spec._chart_row("diagnosis"),
            access_spec._chart_row("allergy"),
            access_spec._chart_row("medication"),
            access_spec._coverage_row,
            access_spec._answer_row,
            access_spec._charge_line_row,
        ):
            builder(self)
        Diagnosis.objects.filter(patient=self.pat).update(onset="2020-05-01")
        Allergy.objects.filter(patient=self.pat).update(reaction="Hives", severity="mild")
        make_response(self.pat, key="qids_sr16", total=12)

    def served(self) -> list[dict[str, Any]]:
        """pat's compartment ($everything, a prescriber's), then every type it left out (the
        billing ones, read by a role that may) or that lies outside it (directories, Groups)."""
        response = self.get(f"Patient/{self.pat.pk}/$everything", self.paula)
        self.assertEqual(response.status_code, 200, response.content)
        entries = [e["resource"] for e in response.json()["entry"]]
        found = [r for r in entries if r["resourceType"] != "OperationOutcome"]
        for name, resource_type in REGISTRY.items():
            if name in {r["resourceType"] for r in found}:
                continue
            reader = next(
                user
                for user in (self.paula, self.alice, self.adam)
                if resource_type.perm is None
                or roles_allow(
                    frozenset(user.memberships.values_list("role", flat=True)), resource_type.perm
                )
            )
            query: dict[str, Any] = {"patient": self.pat.pk} if resource_type.patient_field else {}
            bundle = self.get(name, reader, **query).json()
            found += [e["resource"] for e in bundle.get("entry", [])]
        return found

    def test_every_served_type_validates_with_the_r4b_models(self) -> None:
        resources = self.served()
        for resource in resources:
            assert_valid(resource)
        self.assertEqual({r["resourceType"] for r in resources}, set(REGISTRY))

    def test_each_declared_profile_has_its_must_support_elements(self) -> None:
        declared: dict[str, int] = {}
        for resource in self.served():
            for profile in resource.get("meta", {}).get("profile", []):
                declared[profile] = declared.get(profile, 0) + 1
                missing = [key for key in MUST_SUPPORT[profile] if key not in resource]
                self.assertEqual(missing, [], (resource["resourceType"], resource["id"]))
        self.assertEqual(set(declared), set(MUST_SUPPORT))

    def test_a_patient_declares_us_core_with_its_record_number_and_birth_sex(self) -> None:
        patient = self.get(f"Patient/{self.pat.pk}", self.paula).json()
        self.assertEqual(patient["meta"]["profile"], [US_CORE_PATIENT])
        self.assertEqual(patient["identifier"][0]["system"], "urn:katclinic:mrn")
        self.assertEqual(patient["name"][0]["family"], "Doe")
        sexes = [e for e in patient["extension"] if e["url"] == BIRTHSEX_URL]
        self.assertEqual(len(sexes), 1)
        self.assertEqual(
            sexes[0]["valueCode"],
            {"female": "F", "male": "M", "unknown": "UNK"}[self.pat.sex_at_birth],
        )

    def test_only_loinc_coded_totals_declare_the_screening_profile(self) -> None:
        bundle = self.get("Observation", self.paula, patient=self.pat.pk).json()
        by_code = {
            e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in bundle["entry"]
        }
        self.assertEqual(by_code["44261-6"]["meta"]["profile"], [US_CORE_SCREENING])
        self.assertEqual(by_code["44261-6"]["performer"], [{"reference": f"Patient/{self.pat.pk}"}])
        self.assertNotIn("profile", by_code["qids_sr16-total"]["meta"])

    def test_a_clinician_rating_names_the_clinician_who_entered_it(self) -> None:
        rating = make_response(self.pat, key="madrs", total=20)
        type(rating).objects.filter(pk=rating.pk).update(
            source=Source.STAFF, submitted_by=self.paula
        )
        answered = self.get(f"QuestionnaireResponse/{rating.pk}", self.paula).json()
        assert_valid(answered)
        self.assertEqual(answered["meta"]["profile"], [US_CORE_QUESTIONNAIRE_RESPONSE])
        self.assertEqual(answered["author"], {"reference": f"Practitioner/{self.paula.pk}"})
        type(rating).objects.filter(pk=rating.pk).update(source=Source.API)
        answered = self.get(f"QuestionnaireResponse/{rating.pk}", self.paula).json()
        self.assertNotIn("author", answered)  # an imported rating's rater is not known

    def test_a_staff_member_with_a_family_name_declares_us_core_practitioner(self) -> None:
        practitioner = self.get(f"Practitioner/{self.paula.pk}", self.alice).json()
        assert_valid(practitioner)
        self.assertEqual(practitioner["meta"]["profile"], [US_CORE_PRACTITIONER])
        self.assertEqual(
            practitioner["name"],
            [{"text": "Paula Quinn Prescott", "family": "Prescott", "given": ["Paula Quinn"]}],
        )
        self.assertEqual(
            practitioner["identifier"],
            [
                {"system": NPI_SYSTEM, "value": "1245319599"},
                {"system": STAFF_SYSTEM, "value": str(self.paula.pk)},
            ],
        )

    def test_without_a_family_name_the_whole_name_is_text_and_no_profile(self) -> None:
        practitioner = self.get(f"Practitioner/{self.nick.pk}", self.alice).json()
        assert_valid(practitioner)
        self.assertNotIn("profile", practitioner["meta"])
        self.assertEqual(practitioner["name"], [{"text": self.nick.full_name}])
        self.assertEqual(
            practitioner["identifier"], [{"system": STAFF_SYSTEM, "value": str(self.nick.pk)}]
        )
        # Taking paula's family name away takes the profile with it.
        type(self.paula).objects.filter(pk=self.paula.pk).update(family_name="")
        practitioner = self.get(f"Practitioner/{self.paula.pk}", self.alice).json()
        self.assertNotIn("profile", practitioner["meta"])
        self.assertEqual(practitioner["name"], [{"text": "Paula Quinn Prescott"}])

    def test_a_family_name_an_admin_records_is_what_the_practitioner_carries(self) -> None:
        self.login(self.adam)
        data = {"full_name": "Nick Okafor, RN", "family_name": "Okafor"}
        self.assertEqual(
            self.client.post(f"/clinic/staff/{self.nick.pk}/name/", data).status_code, 302
        )
        practitioner = self.get(f"Practitioner/{self.nick.pk}", self.alice).json()
        assert_valid(practitioner)
        self.assertEqual(practitioner["meta"]["profile"], [US_CORE_PRACTITIONER])
        self.assertEqual(practitioner["name"], [{"text": "Nick Okafor, RN", "family": "Okafor"}])

    def test_a_name_not_ending_in_the_family_name_has_no_given_part(self) -> None:
        for full_name, family_name, given in (
            ("Nick Okafor, RN", "Okafor", None),
            ("Nick Lindberg", "berg", None),
            ("Okafor", "Okafor", None),
            ("Dr. Nick Van der Berg", "Van der Berg", ["Dr. Nick"]),
        ):
            type(self.nick).objects.filter(pk=self.nick.pk).update(
                full_name=full_name, family_name=family_name
            )
            name = self.get(f"Practitioner/{self.nick.pk}", self.alice).json()["name"][0]
            self.assertEqual(name.get("given"), given, full_name)
            self.assertEqual((name["text"], name["family"]), (full_name, family_name))

    def test_practitioners_are_found_by_staff_number_and_by_family_name(self) -> None:
        def ids(**query: str) -> list[str]:
            bundle = self.get("Practitioner", self.alice, **query).json()
            return [e["resource"]["id"] for e in bundle.get("entry", [])]

        self.assertEqual(ids(identifier=f"{STAFF_SYSTEM}|{self.nick.pk}"), [str(self.nick.pk)])
        self.assertEqual(ids(identifier=f"{STAFF_SYSTEM}|{self.oscar.pk}"), [])
        self.assertEqual(ids(identifier=f"{STAFF_SYSTEM}|{'9' * 40}"), [])
        self.assertEqual(ids(identifier=f"{STAFF_SYSTEM}|nick"), [])
        self.assertEqual(ids(identifier=str(self.nick.pk)), [])  # a bare value is an NPI
        type(self.nick).objects.filter(pk=self.nick.pk).update(family_name="Okafor")
        self.assertEqual(ids(name="okaf"), [str(self.nick.pk)])

    def test_an_allergy_declares_us_core_with_text_substance_and_reaction(self) -> None:
        allergy = Allergy.objects.get(patient=self.pat)
        served = self.get(f"AllergyIntolerance/{allergy.pk}", self.paula).json()
        assert_valid(served)
        self.assertEqual(served["meta"]["profile"], [US_CORE_ALLERGY_INTOLERANCE])
        self.assertEqual(served["code"], {"text": "Penicillin"})
        self.assertEqual(
            served["reaction"], [{"manifestation": [{"text": "Hives"}], "severity": "mild"}]
        )
        self.assertEqual(served["clinicalStatus"]["coding"][0]["code"], "active")
        self.assertNotIn("verificationStatus", served)  # not recorded, so not sent

    def test_the_capability_statement_lists_profiles_and_parameter_definitions(self) -> None:
        statement = self.get("metadata").json()
        assert_valid(statement)
        served = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
        profiles = {name: entry.get("supportedProfile", []) for name, entry in served.items()}
        self.assertEqual(profiles["Encounter"], [US_CORE_ENCOUNTER])
        self.assertEqual(profiles["Patient"], [US_CORE_PATIENT])
        self.assertEqual(profiles["Practitioner"], [US_CORE_PRACTITIONER])
        self.assertEqual(profiles["AllergyIntolerance"], [US_CORE_ALLERGY_INTOLERANCE])
        self.assertIn("family name", served["Practitioner"]["documentation"])
        definitions = {p["name"]: p.get("definition") for p in served["Encounter"]["searchParam"]}
        self.assertEqual(definitions["date"], f"{US_CORE}encounter-date")
        self.assertEqual(definitions["_id"], f"{US_CORE}encounter-id")
        self.assertEqual(definitions["_count"], None)  # a result parameter, not a SearchParameter
        patient = {p["name"]: p.get("definition") for p in served["Patient"]["searchParam"]}
        self.assertEqual(patient["birthdate"], f"{US_CORE}patient-birthdate")
        given = {
            p["name"]: p.get("definition") for p in served["QuestionnaireResponse"]["searchParam"]
        }
        self.assertEqual(given["authored"], f"{US_CORE}questionnaireresponse-authored")
        self.assertEqual(profiles["MedicationRequest"], [US_CORE_MEDICATION_REQUEST])
        ordered = {
            p["name"]: p.get("definition") for p in served["MedicationRequest"]["searchParam"]
        }
        self.assertEqual(ordered["intent"], f"{US_CORE}medicationrequest-intent")


class UsCorePatientImportTest(FhirTestCase):
    def create(self, resource: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.token(self.paula)}"}
        return Client().post(
            "/fhir/R4/Patient", resource, content_type="application/fhir+json", headers=headers
        )

    def test_it_keeps_race_ethnicity_birth_sex_address_parts_names_and_identifiers(self) -> None:
        sent = us_core_patient()
        response = self.create(sent)
        self.assertEqual(response.status_code, 201, response.content)
        stored = Patient.objects.get(clinic=self.clinic, last_name="Tanaka")
        self.assertEqual(stored.first_name, "Amy Mei")
        self.assertEqual(stored.given_names, ["Amy", "Mei"])
        self.assertEqual(stored.sex_at_birth, "female")
        self.assertEqual(stored.preferred_language, "es")
        self.assertEqual(stored.address, "49 Meadow St, Apt 2, Mounds, OK, 74047, US")
        self.assertEqual(stored.address_parts["city"], "Mounds")
        self.assertEqual([c["code"] for c in stored.race["ombCategory"]], ["2106-3", "2028-9"])
        self.assertEqual(stored.ethnicity["ombCategory"][0]["display"], "Not Hispanic or Latino")
        self.assertEqual(stored.identifiers[0]["value"], "H-99812")
        served = self.get(f"Patient/{stored.pk}", self.paula).json()
        assert_valid(served)
        self.assertEqual(served["name"][0]["given"], ["Amy", "Mei"])
        self.assertEqual(
            [i["system"] for i in served["identifier"]], ["urn:katclinic:mrn", HOSPITAL_MRN]
        )
        address = served["address"][0]
        self.assertEqual(
            (address["line"], address["city"], address["state"], address["postalCode"]),
            (["49 Meadow St", "Apt 2"], "Mounds", "OK", "74047"),
        )
        extensions = {e["url"]: e for e in served["extension"]}
        self.assertEqual(extensions[RACE_URL], sent["extension"][0])
        self.assertEqual(extensions[BIRTHSEX_URL], {"url": BIRTHSEX_URL, "valueCode": "F"})
        self.assertEqual(
            extensions[ETHNICITY_URL]["extension"][-1]["valueString"], "Not Hispanic or Latino"
        )
        self.assertEqual(served["communication"][0]["language"]["coding"][0]["code"], "es")

    def test_an_edited_address_or_first_name_is_served_as_edited(self) -> None:
        self.assertEqual(self.create(us_core_patient()).status_code, 201)
        stored = Patient.objects.get(clinic=self.clinic, last_name="Tanaka")
        update_patient(
            patient=stored, data={"address": "7 New Rd, Tulsa", "first_name": "Amy"}, by=self.paula
        )
        served = self.get(f"Patient/{stored.pk}", self.paula).json()
        self.assertEqual(served["address"], [{"text": "7 New Rd, Tulsa"}])
        self.assertEqual(served["name"][0]["given"], ["Amy"])

    def test_what_cannot_be_kept_is_refused_by_element_and_nothing_is_stored(self) -> None:
        cases: list[tuple[str, Any]] = [
            (
                "Patient.extension[3]",
                lambda r: r["extension"].append(
                    {
                        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-genderIdentity",
                        "valueCodeableConcept": {"text": "Woman"},
                    }
                ),
            ),
            ("Patient.extension[2]", lambda r: r["extension"][2].update(valueCode="M")),
            ("Patient.address[1]", lambda r: r["address"].append({"city": "Tulsa"})),
            ("Patient.name[1]", lambda r: r["name"].append({"use": "maiden", "family": "Sato"})),
            ("Patient.name[0].suffix", lambda r: r["name"][0].update(suffix=["Jr"])),
            ("Patient.maritalStatus", lambda r: r.update(maritalStatus={"text": "Married"})),
            (
                "Patient.identifier[1].system",
                lambda r: r["identifier"].append({"value": "no-system"}),
            ),
            (
                "Patient.telecom[1]",
                lambda r: r["telecom"].append({"system": "phone", "value": "555-0"}),
            ),
            (
                "Patient.extension[0].extension[0].valueCoding",
                lambda r: r["extension"][0]["extension"][0]["valueCoding"].update(code="9999-9"),
            ),
            ("Patient.extension[1]", lambda r: r["extension"][1]["extension"].pop()),
            (
                "Patient.communication[0].language",
                lambda r: r["communication"][0]["language"]["coding"][0].update(code="fr"),
            ),
        ]
        before = Patient.objects.count()
        for expression, change in cases:
            resource = copy.deepcopy(us_core_patient())
            change(resource)
            response = self.create(resource)
            self.assertEqual(response.status_code, 422, (expression, response.content))
            expressions = [
                e for issue in response.json()["issue"] for e in issue.get("expression", [])
            ]
            self.assertIn(expression, expressions, response.content)
        self.assertEqual(Patient.objects.count(), before)
