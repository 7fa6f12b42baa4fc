"""API and FHIR requests run in their token's clinic's time zone even when the process is in
UTC, and a patient's token issued for another clinic reaches nothing (review findings)."""

from datetime import UTC, timedelta

from django.test import Client
from django.utils import timezone

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import AuditEvent
from katclinic.clinics.middleware import clinic_zone
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_administration, make_session


class ClinicZoneTest(FhirTestCase):
    def test_a_date_search_means_the_clinics_day_while_the_process_runs_in_utc(self) -> None:
        zone = clinic_zone(self.clinic.timezone)
        self.assertNotEqual(zone.key, "UTC")
        # 03:30 UTC today is still yesterday evening on the clinic's clock (New York).
        moment = (
            (timezone.now() - timedelta(days=2))
            .astimezone(UTC)
            .replace(hour=3, minute=30, second=0, microsecond=0)
        )
        clinic_day = moment.astimezone(zone).date()
        self.assertNotEqual(clinic_day, moment.date())
        dose = make_administration(
            make_session(self.pat, self.paula, at=moment), self.nick, at=moment
        )
        with timezone.override(UTC):  # the server process, not the test, decides the zone
            body = self.get("MedicationAdministration", date=clinic_day.isoformat()).json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(dose.pk)])

    def test_the_zone_does_not_outlive_the_request(self) -> None:
        with timezone.override(UTC):
            self.get("MedicationAdministration")
            self.assertEqual(timezone.get_current_timezone_name(), "UTC")


class PatientTokenClinicTest(FhirTestCase):
    def test_a_patients_token_for_another_clinic_reaches_nothing_and_writes_no_event(
        self,
    ) -> None:
        _, raw = ApiToken.issue(
            user=self.pat_user,
            clinic=self.other_clinic,
            name="stray",
            scopes=[Scope.FHIR_READ.value, Scope.PATIENTS_READ.value],
        )
        before = AuditEvent.objects.filter(chain=self.other_clinic.pk).count()
        headers = {"Authorization": f"Bearer {raw}"}
        for path in (
            f"/fhir/R4/Patient/{self.pat.pk}/$everything",
            f"/fhir/R4/Patient/{self.pat.pk}",
        ):
            self.assertEqual(Client().get(path, headers=headers).status_code, 401, path)
        api = Client().get(f"/api/patients/{self.pat.pk}", headers=headers)
        self.assertEqual(api.status_code, 401)
        self.assertEqual(AuditEvent.objects.filter(chain=self.other_clinic.pk).count(), before)

    def test_the_same_patients_token_for_their_own_clinic_still_works(self) -> None:
        _, raw = ApiToken.issue(
            user=self.pat_user, clinic=self.clinic, name="own", scopes=[Scope.FHIR_READ.value]
        )
        response = Client().get(
            f"/fhir/R4/Patient/{self.pat.pk}", headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["id"], str(self.pat.pk))
