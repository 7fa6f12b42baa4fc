from django.urls import reverse
from django.utils import timezone

from katclinic.accounts import services as account_services
from katclinic.demo.seed import build_demo
from katclinic.messaging.models import Thread
from katclinic.testing import ClinicTestCase


class DemoTest(ClinicTestCase):
    def test_the_demo_portal_patient_and_their_therapist_share_a_waiting_thread(self) -> None:
        world = build_demo(seed=7, patients_per_clinic=20)
        therapist = world.staff["therapist"]
        patient = world.patients[0]

        thread = Thread.objects.get(patient=patient)
        self.assertEqual(thread.assigned_to, therapist)
        self.assertIsNotNone(thread.waiting_since)
        self.assertEqual(
            set(thread.messages.values_list("author", flat=True)), {therapist.pk, patient.user_id}
        )
        self.client.force_login(therapist)
        session = self.client.session
        now = timezone.now().timestamp()
        session[account_services.OTP_OK] = True
        session[account_services.STARTED_AT] = now
        session[account_services.LAST_SEEN] = now
        session.save()
        inbox = self.client.get(reverse("messaging:inbox"), {"assigned": "me", "show": "waiting"})
        self.assertContains(inbox, "Checking in after your session")
