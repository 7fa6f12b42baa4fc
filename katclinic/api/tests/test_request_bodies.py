"""What the API and FHIR take as a body: JSON only, bounded in size and depth, no NUL."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test import override_settings
from django.urls import reverse

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.measures.models import Response
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase


class ApiBodyTest(ClinicTestCase):
    def setUp(self) -> None:
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        self.auth = {"Authorization": f"Bearer {raw}"}
        self.url = reverse("api:measures_submit")
        self.body = json.dumps(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": {"q1": 1}}
        )

    def test_json_sent_as_text_plain_is_refused_with_415_naming_the_content_type(self) -> None:
        before = Response.objects.count()
        response = self.client.post(
            self.url, self.body, content_type="text/plain", headers=self.auth
        )
        self.assertEqual(response.status_code, 415)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json()["errors"][0]["field"], "Content-Type")
        self.assertIn("text/plain", response.json()["errors"][0]["message"])
        self.assertEqual(Response.objects.count(), before)

    def test_a_form_post_with_fields_is_refused_too(self) -> None:
        before = Response.objects.count()
        response = self.client.post(self.url, {"patient_id": self.pat.pk}, headers=self.auth)
        self.assertEqual(response.status_code, 415)
        self.assertEqual(Response.objects.count(), before)

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_an_oversized_body_answers_413_in_json(self) -> None:
        before = Response.objects.count()
        big = json.dumps({"patient_id": self.pat.pk, "comment": "x" * 5000})
        response = self.client.post(
            self.url, big, content_type="application/json", headers=self.auth
        )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json()["errors"][0]["field"], "body")
        self.assertEqual(Response.objects.count(), before)

    def test_deeply_nested_json_is_refused_with_422_naming_the_body(self) -> None:
        before = Response.objects.count()
        for depth in (40, 100_000):
            response = self.client.post(
                self.url,
                "[" * depth + "]" * depth,
                content_type="application/json",
                headers=self.auth,
            )
            self.assertEqual(response.status_code, 422, depth)
            self.assertEqual(response.json()["errors"][0]["field"], "body")
        self.assertEqual(Response.objects.count(), before)

    def test_a_unicode_digit_in_a_query_parameter_is_a_422_naming_it(self) -> None:
        response = self.client.get(reverse("api:patients_list"), {"limit": "²"}, headers=self.auth)
        self.assertEqual(response.status_code, 422)
        self.assertIn("limit", json.dumps(response.json()))


class FhirBodyTest(ClinicTestCase):
    def setUp(self) -> None:
        _, raw = ApiToken.issue(
            user=self.adam, clinic=self.clinic, name="t", scopes=[Scope.FHIR_WRITE, Scope.FHIR_READ]
        )
        self.auth = {"Authorization": f"Bearer {raw}"}

    def bundle(self, family: str) -> dict:
        patient = {
            "resourceType": "Patient",
            "name": [{"family": family, "given": ["Ana"]}],
            "birthDate": "1980-01-02",
        }
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:1",
                    "resource": patient,
                    "request": {"method": "POST", "url": "Patient"},
                }
            ],
        }

    def post(self, body: str) -> Any:
        return self.client.post(
            reverse("fhir:transaction"),
            body,
            content_type="application/fhir+json",
            headers=self.auth,
        )

    def test_nul_in_an_imported_name_is_refused_naming_the_element(self) -> None:
        before = Patient.objects.count()
        response = self.post(json.dumps(self.bundle("Ro\x00e")))
        self.assertEqual(response.status_code, 400)
        outcome = response.json()
        self.assertEqual(outcome["resourceType"], "OperationOutcome")
        self.assertEqual(
            outcome["issue"][0]["expression"], ["Bundle.entry[0].resource.name[0].family"]
        )
        self.assertEqual(Patient.objects.count(), before)

    def test_deep_json_is_an_operation_outcome(self) -> None:
        before = Patient.objects.count()
        response = self.post("[" * 50_000 + "]" * 50_000)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["resourceType"], "OperationOutcome")
        self.assertEqual(Patient.objects.count(), before)

    def test_hostile_search_values_are_400s_naming_the_parameter(self) -> None:
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="r", scopes=[Scope.FHIR_READ]
        )
        for name, value in [
            ("_count", "²"),
            ("_offset", "9" * 5000),
            ("date", "ge9999-12-31T23:59:59-12:00"),
            ("patient", "Patient/²"),
        ]:
            response = self.client.get(
                "/fhir/R4/Observation", {name: value}, headers={"Authorization": f"Bearer {raw}"}
            )
            self.assertEqual(response.status_code, 400, (name, value))
            self.assertEqual(response.json()["resourceType"], "OperationOutcome")

    def test_a_denied_read_records_the_patient_it_asked_for(self) -> None:
        _, raw = ApiToken.issue(
            user=self.pat_user, clinic=self.clinic, name="p", scopes=[Scope.FHIR_READ]
        )
        response = self.client.get(
            f"/fhir/R4/Patient/{self.quinn.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 404)
        denial = AuditEvent.objects.filter(action=Action.DENIED).latest("pk")
        self.assertEqual(denial.patient_id, self.quinn.pk)

    def test_postgres_itself_refuses_nul_so_the_check_matters(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only")
        self.test_nul_in_an_imported_name_is_refused_naming_the_element()
