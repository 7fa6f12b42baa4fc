"""Every search parameter the CapabilityStatement lists names the SearchParameter it
implements, checked against a table of canonical ids read from the specifications.

Where the table came from: the base FHIR R4 ids are those of the R4 (4.0.1) definitions
bundle, search-parameters.json (the data behind
https://hl7.org/fhir/R4/searchparameter-registry.html); the US Core ids are the
SearchParameter resources published with US Core 6.1.0
(https://hl7.org/fhir/us/core/STU6.1/search-parameters.html). ``None`` marks a parameter
neither defines for that type (this server's own, or ``subject`` on a type whose R4
definitions have none); its documentation in the statement says what it does.

A new parameter fails this test until its definition is checked the same way and added.
"""

from __future__ import annotations

from katclinic.fhir.capability import _controls
from katclinic.fhir.tests.base import FhirTestCase

R4 = "http://hl7.org/fhir/SearchParameter/"
US_CORE = "http://hl7.org/fhir/us/core/SearchParameter/us-core-"

# type -> parameter -> the canonical URL of the SearchParameter it implements.
VERIFIED: dict[str, dict[str, str | None]] = {
    "Patient": {
        "_id": US_CORE + "patient-id",
        "name": US_CORE + "patient-name",
        "family": US_CORE + "patient-family",
        "given": US_CORE + "patient-given",
        "birthdate": US_CORE + "patient-birthdate",
        "identifier": US_CORE + "patient-identifier",
        "gender": US_CORE + "patient-gender",
    },
    "Questionnaire": {
        "_id": R4 + "Resource-id",
        "url": R4 + "Questionnaire-url",
        "code": R4 + "Questionnaire-code",
        "status": R4 + "Questionnaire-status",
        "name": R4 + "Questionnaire-name",
    },
    "MedicationAdministration": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "clinical-patient",
        "subject": R4 + "MedicationAdministration-subject",
        "effective-time": R4 + "MedicationAdministration-effective-time",
        "date": None,
        "code": R4 + "clinical-code",
        "category": None,
        "status": R4 + "medications-status",
        "request": R4 + "MedicationAdministration-request",
    },
    "Encounter": {
        "_id": US_CORE + "encounter-id",
        "patient": US_CORE + "encounter-patient",
        "subject": R4 + "Encounter-subject",
        "date": US_CORE + "encounter-date",
        "status": US_CORE + "encounter-status",
        "identifier": US_CORE + "encounter-identifier",
        "class": US_CORE + "encounter-class",
    },
    "Consent": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "clinical-patient",
        "subject": None,
        "date": R4 + "clinical-date",
        "status": R4 + "Consent-status",
    },
    "QuestionnaireResponse": {
        "_id": US_CORE + "questionnaireresponse-id",
        "patient": US_CORE + "questionnaireresponse-patient",
        "subject": R4 + "QuestionnaireResponse-subject",
        "status": US_CORE + "questionnaireresponse-status",
        "authored": US_CORE + "questionnaireresponse-authored",
        "questionnaire": US_CORE + "questionnaireresponse-questionnaire",
    },
    "Observation": {
        "_id": R4 + "Resource-id",
        "patient": US_CORE + "observation-patient",
        "subject": R4 + "Observation-subject",
        "status": US_CORE + "observation-status",
        "date": US_CORE + "observation-date",
        "code": US_CORE + "observation-code",
        "category": US_CORE + "observation-category",
        # R4's clinical-encounter lists Observation among its bases; US Core 6.1.0 defines none.
        "encounter": R4 + "clinical-encounter",
    },
    "Flag": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "clinical-patient",
        "subject": R4 + "Flag-subject",
        "date": R4 + "clinical-date",
        "status": None,
    },
    "Appointment": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "Appointment-patient",
        "subject": None,
        "date": R4 + "Appointment-date",
        "status": R4 + "Appointment-status",
    },
    "ChargeItem": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "ChargeItem-patient",
        "subject": R4 + "ChargeItem-subject",
        "occurrence": R4 + "ChargeItem-occurrence",
        "code": R4 + "ChargeItem-code",
    },
    "Condition": {
        "_id": R4 + "Resource-id",
        "patient": US_CORE + "condition-patient",
        "subject": R4 + "Condition-subject",
        "code": US_CORE + "condition-code",
        "category": US_CORE + "condition-category",
        "clinical-status": US_CORE + "condition-clinical-status",
        "onset-date": US_CORE + "condition-onset-date",
        "recorded-date": US_CORE + "condition-recorded-date",
    },
    "AllergyIntolerance": {
        "_id": R4 + "Resource-id",
        "patient": US_CORE + "allergyintolerance-patient",
        "subject": None,
        "clinical-status": US_CORE + "allergyintolerance-clinical-status",
        "date": R4 + "clinical-date",
    },
    "MedicationStatement": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "clinical-patient",
        "subject": R4 + "MedicationStatement-subject",
        "status": R4 + "medications-status",
        "effective": R4 + "MedicationStatement-effective",
    },
    "Practitioner": {
        "_id": US_CORE + "practitioner-id",
        "identifier": US_CORE + "practitioner-identifier",
        "name": US_CORE + "practitioner-name",
    },
    "Organization": {
        "_id": R4 + "Resource-id",
        "identifier": R4 + "Organization-identifier",
        "name": US_CORE + "organization-name",
    },
    "Coverage": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "Coverage-patient",
        "subject": None,
        "beneficiary": R4 + "Coverage-beneficiary",
        "status": R4 + "Coverage-status",
    },
    "Claim": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "Claim-patient",
        "subject": None,
        "status": R4 + "Claim-status",
        "created": R4 + "Claim-created",
        "use": R4 + "Claim-use",
    },
    "ExplanationOfBenefit": {
        "_id": R4 + "Resource-id",
        "patient": R4 + "ExplanationOfBenefit-patient",
        "subject": None,
        "status": R4 + "ExplanationOfBenefit-status",
        "created": R4 + "ExplanationOfBenefit-created",
        "claim": R4 + "ExplanationOfBenefit-claim",
    },
    "Group": {
        "_id": R4 + "Resource-id",
        "member": R4 + "Group-member",
        "identifier": R4 + "Group-identifier",
        "type": R4 + "Group-type",
        "actual": R4 + "Group-actual",
    },
    "MedicationRequest": {
        "_id": R4 + "Resource-id",
        "patient": US_CORE + "medicationrequest-patient",
        "subject": R4 + "MedicationRequest-subject",
        "status": US_CORE + "medicationrequest-status",
        "intent": US_CORE + "medicationrequest-intent",
        "authoredon": US_CORE + "medicationrequest-authoredon",
        "requester": R4 + "MedicationRequest-requester",
        "encounter": US_CORE + "medicationrequest-encounter",
        "identifier": R4 + "clinical-identifier",
    },
}

RESULT_PARAMETERS = {name for name, _, _ in _controls([])}


class SearchParameterDefinitionTest(FhirTestCase):
    def statement(self) -> dict[str, dict[str, str | None]]:
        response = self.get("metadata")
        self.assertEqual(response.status_code, 200)
        return {
            entry["type"]: {
                param["name"]: param.get("definition")
                for param in entry["searchParam"]
                if param["name"] not in RESULT_PARAMETERS
            }
            for entry in response.json()["rest"][0]["resource"]
        }

    def test_every_definition_is_the_verified_canonical_url(self) -> None:
        served = self.statement()
        self.assertEqual(sorted(served), sorted(VERIFIED))
        for type_name, params in served.items():
            with self.subTest(type_name):
                self.assertEqual(params, VERIFIED[type_name])

    def test_result_parameters_name_no_definition(self) -> None:
        response = self.get("metadata").json()
        for entry in response["rest"][0]["resource"]:
            for param in entry["searchParam"]:
                if param["name"] in RESULT_PARAMETERS:
                    self.assertNotIn("definition", param, (entry["type"], param["name"]))

    def test_the_shared_r4_definitions_are_named_where_r4_defines_them(self) -> None:
        # R4 defines patient, code and status of the medication resources once for several
        # types (clinical-patient, clinical-code, medications-status); it has no
        # medications-patient or medications-code.
        served = self.statement()
        self.assertEqual(served["MedicationAdministration"]["patient"], R4 + "clinical-patient")
        self.assertEqual(served["MedicationAdministration"]["code"], R4 + "clinical-code")
        self.assertEqual(served["MedicationStatement"]["patient"], R4 + "clinical-patient")
        self.assertEqual(served["MedicationStatement"]["status"], R4 + "medications-status")
