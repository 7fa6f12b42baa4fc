"""Lists and searches that show patient data write one audit event naming the patients
shown (review finding: the API lists and the web patient list wrote none)."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.scheduling.models import Appointment
from katclinic.testing import ClinicTestCase


class ListReadAuditTest(ClinicTestCase):
    def api(self, path: str, user: User, scope: Scope) -> int:
        _, raw = ApiToken.issue(user=user, clinic=self.clinic, name="t", scopes=[scope.value])
        return Client().get(path, headers={"Authorization": f"Bearer {raw}"}).status_code

    def list_events(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(action=Action.VIEW, object_type="list"))

    def test_the_api_patient_list_names_the_patients_it_returned(self) -> None:
        self.assertEqual(self.api("/api/patients/", self.alice, Scope.PATIENTS_READ), 200)
        (event,) = self.list_events()
        self.assertEqual(event.detail["patients"], sorted([self.pat.pk, self.quinn.pk]))
        self.assertEqual((event.clinic_id, event.user_id), (self.clinic.pk, self.alice.pk))

    def test_a_search_names_only_the_patients_it_found(self) -> None:
        self.assertEqual(self.api("/api/patients/?q=Roe", self.alice, Scope.PATIENTS_READ), 200)
        (event,) = self.list_events()
        self.assertEqual(
            (event.detail["patients"], event.patient_id), ([self.quinn.pk], self.quinn.pk)
        )

    def test_an_empty_result_records_nothing(self) -> None:
        self.api("/api/patients/?q=Nobody", self.alice, Scope.PATIENTS_READ)
        self.assertEqual(self.list_events(), [])

    def test_the_api_appointment_list_names_its_patients(self) -> None:
        start = timezone.now() + timedelta(days=1)
        Appointment.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            kind="consultation",
            staff=self.paula,
            start=start,
            end=start + timedelta(hours=1),
            created_by=self.alice,
        )
        self.assertEqual(self.api("/api/appointments/", self.alice, Scope.APPOINTMENTS_READ), 200)
        (event,) = self.list_events()
        self.assertEqual(event.detail["patients"], [self.quinn.pk])

    def test_the_web_patient_list_and_search_name_the_patients_shown(self) -> None:
        self.login(self.alice)
        self.assertEqual(self.client.get("/patients/?q=Doe").status_code, 200)
        (event,) = self.list_events()
        self.assertEqual(event.detail["patients"], [self.pat.pk])
