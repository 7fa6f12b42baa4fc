"""The demo: every role and the demo patient find their work on the first page."""

from __future__ import annotations

from django.test import TestCase
from django.utils import timezone

from katclinic.accounts import services as account_services
from katclinic.accounts.models import User
from katclinic.clinics.middleware import ACTIVE_CLINIC_KEY
from katclinic.demo.seed import build_demo
from katclinic.portal.models import AppointmentRequest, JournalEntry


class DemoFirstPageTest(TestCase):
    def sign_in(self, user: User, clinic_id: int | None = None) -> None:
        self.client.force_login(user)
        session = self.client.session
        if clinic_id is not None:
            session[ACTIVE_CLINIC_KEY] = clinic_id
        now = timezone.now().timestamp()
        session[account_services.OTP_OK] = True
        session[account_services.STARTED_AT] = now
        session[account_services.LAST_SEEN] = now
        session.save()

    def test_each_role_and_the_patient_land_on_their_work(self) -> None:
        world = build_demo(patients_per_clinic=20)
        self.assertTrue(JournalEntry.objects.filter(shared_with_therapist=True).exists())
        self.assertTrue(JournalEntry.objects.filter(shared_with_therapist=False).exists())
        self.assertTrue(AppointmentRequest.objects.open().exists())
        for role in ("prescriber", "nurse", "therapist", "frontdesk", "admin"):
            with self.subTest(role=role):
                self.sign_in(world.staff[role])
                response = self.client.get("/", follow=True)
                if response.redirect_chain[-1][0] == "/clinic/choose/":
                    # Staff of both clinics pick one first; then their worklist.
                    self.sign_in(world.staff[role], world.clinics[0].pk)
                    response = self.client.get("/", follow=True)
                self.assertEqual(response.redirect_chain[-1][0], "/today/")
                self.assertGreater(len(response.context["sections"]), 1)
        self.sign_in(world.staff["frontdesk"], world.clinics[0].pk)
        self.assertContains(self.client.get("/today/"), "Appointment requests from patients")
        patient_user = world.staff["patient"]
        self.sign_in(patient_user)
        response = self.client.get("/", follow=True)
        self.assertEqual(response.redirect_chain[-1][0], f"/portal/{patient_user.patient.pk}/")
        self.assertContains(response, "If you need help now")
        self.assertContains(response, "988")
