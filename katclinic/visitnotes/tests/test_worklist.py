"""A clinician's own visits today and the visits waiting for a signed note, on the Today page."""

from datetime import timedelta

from django.utils import timezone

from katclinic.scheduling.models import Appointment, State
from katclinic.testing import ClinicTestCase
from katclinic.visitnotes import services
from katclinic.visitnotes.tests.test_notes import FOLLOW_UP, INTEGRATION, visit


class NoteQueueTest(ClinicTestCase):
    def test_therapist_sees_her_visits_today(self) -> None:
        start = timezone.localtime().replace(hour=0, minute=0) + timedelta(hours=23, minutes=30)
        Appointment.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            kind="preparation",
            staff=self.tara,
            start=start,
            end=start + timedelta(minutes=20),
            created_by=self.alice,
        )
        Appointment.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            kind="consultation",
            staff=self.paula,
            start=start - timedelta(minutes=30),
            end=start,
            created_by=self.alice,
        )
        self.login(self.tara)
        page = self.client.get("/today/")
        self.assertContains(page, "My visits today")
        self.assertContains(page, "Quinn Roe: Preparation")
        self.assertContains(page, f"{start:%H:%M}")
        self.assertNotContains(page, "Pat Doe: Consultation")

    def test_note_due_until_a_signed_note_exists(self) -> None:
        appt = visit(self, "integration", staff=self.tara, days_ago=2)
        visit(self, "integration", staff=self.tara, days_ago=3, state=State.CANCELLED)
        visit(self, "integration", staff=self.paula, days_ago=2)
        self.login(self.tara)
        page = self.client.get("/today/")
        self.assertContains(page, "Visit notes due")
        self.assertContains(page, "Note due: Pat Doe, Integration", count=1)
        self.assertContains(page, f"/visitnotes/patients/{self.pat.pk}/new/?appointment={appt.pk}")
        self.assertContains(self.client.get("/visitnotes/"), "Write note")
        draft = services.create_note(
            patient=self.pat,
            kind="integration",
            content=INTEGRATION,
            appointment=appt,
            by=self.tara,
        )
        self.assertContains(self.client.get("/today/"), "Note due: Pat Doe")
        services.sign_note(note=draft, by=self.tara)
        page = self.client.get("/today/")
        self.assertNotContains(page, "Note due: Pat Doe")
        self.assertContains(page, "Every visit of yours has a signed note.")

    def test_the_new_note_from_the_queue_takes_the_visits_kind(self) -> None:
        appt = visit(self, "follow_up", staff=self.nick)
        self.login(self.nick)
        self.assertContains(self.client.get("/today/"), "Note due: Pat Doe, Follow-up")
        page = self.client.get(f"/visitnotes/patients/{self.pat.pk}/new/?appointment={appt.pk}")
        self.assertContains(page, "Follow-up note")
        self.assertContains(page, 'name="progress"')
        response = self.client.post(
            f"/visitnotes/patients/{self.pat.pk}/new/",
            {**FOLLOW_UP, "kind": "follow_up", "appointment": appt.pk, "sign": "on"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertNotContains(self.client.get("/today/"), "Note due: Pat Doe")

    def test_a_future_or_booked_visit_is_not_due(self) -> None:
        visit(self, "integration", staff=self.tara, days_ago=-1, state=State.BOOKED)
        self.login(self.tara)
        self.assertNotContains(self.client.get("/today/"), "Note due:")
