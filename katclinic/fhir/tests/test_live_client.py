"""A real FHIR client (fhirpy) against a live server: count, search, create and read.

LiveServerTestCase empties tables with DELETE afterwards, which the audit table refuses;
so the server runs inside a TestCase instead: on SQLite's in-memory test database the
server thread shares the test's connection, sees its rows and is rolled back with it.
"""

from datetime import date
from unittest import skipUnless

from django.db import connection
from django.test import LiveServerTestCase, TestCase
from fhirpy import SyncFHIRClient

from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.patients.models import Patient
from katclinic.testing import make_user


@skipUnless(connection.vendor == "sqlite", "the server thread shares the connection only on SQLite")
class FhirpyTest(LiveServerTestCase, TestCase):
    def setUp(self) -> None:
        clinic = Clinic.objects.create(
            organization=Organization.objects.create(name="Live Health"), name="Live", slug="live"
        )
        paula = make_user("paula@example.org", "Paula")
        StaffMembership.objects.create(user=paula, clinic=clinic, role=Role.PRESCRIBER)
        for number, family in enumerate(["Doe", "Doe", "Roe"], start=1):
            Patient.objects.create(
                clinic=clinic,
                mrn=f"K{number:06d}",
                first_name="Pat",
                last_name=family,
                date_of_birth=date(1980, 3, number),
            )
        raw = ApiToken.issue(
            user=paula,
            clinic=clinic,
            name="fhirpy",
            scopes=[Scope.FHIR_READ.value, Scope.FHIR_WRITE.value],
        )[1]
        self.fhir = SyncFHIRClient(f"{self.live_server_url}/fhir/R4", authorization=f"Bearer {raw}")

    def test_count_search_create_and_read(self) -> None:
        self.assertEqual(self.fhir.resources("Patient").count(), 3)
        self.assertEqual(self.fhir.resources("Patient").search(family="Doe").count(), 2)
        found = self.fhir.resources("Patient").search(family="Doe").sort("-birthdate").fetch()
        self.assertEqual([p["birthDate"] for p in found], ["1980-03-02", "1980-03-01"])
        for resource in found:
            assert_valid(resource.serialize())
        created = self.fhir.resource(
            "Patient",
            name=[{"family": "Live", "given": ["Lee"]}],
            birthDate="1991-04-05",
            gender="female",
        )
        created.save()
        self.assertTrue(created["id"])
        self.assertTrue(created["meta"]["versionId"])
        again = self.fhir.reference("Patient", created["id"]).to_resource()
        self.assertEqual(again["name"][0]["family"], "Live")
        self.assertEqual(Patient.objects.filter(last_name="Live").count(), 1)
