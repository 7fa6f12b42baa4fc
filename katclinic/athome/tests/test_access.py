"""A patient sees only their own prescriptions and sessions; staff only their clinic's."""

from django.urls import reverse

from katclinic.athome.models import HomeSession
from katclinic.athome.tests.factories import prescription, taken_session
from katclinic.testing import ClinicTestCase, shown_text


class OwnRecordsTest(ClinicTestCase):
    def setUp(self) -> None:
        self.pat_rx = prescription(self.pat, self.paula)
        self.quinn_rx = prescription(self.quinn, self.paula)
        self.quinn_rx.product = "Quinn's own troche"
        self.quinn_rx.save()
        self.quinn_session = taken_session(self.quinn)

    def test_a_patient_lists_only_their_own_prescriptions_and_sessions(self) -> None:
        self.login(self.pat_user)
        response = self.client.get(reverse("athome:mine", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "Quinn's own troche")
        self.assertEqual(list(response.context["sessions"]), [])

    def test_another_patients_pages_answer_404_and_change_nothing(self) -> None:
        self.login(self.pat_user)
        own_id_other_session = reverse(
            "athome:my_session", args=[self.pat.pk, self.quinn_session.pk]
        )
        self.assertEqual(self.client.get(own_id_other_session).status_code, 404)
        self.assertEqual(
            self.client.get(reverse("athome:mine", args=[self.quinn.pk])).status_code, 404
        )
        after = reverse("athome:after", args=[self.quinn.pk, self.quinn_session.pk])
        self.assertEqual(self.client.post(after, {"worst_severity": "0"}).status_code, 404)
        self.assertEqual(
            self.client.post(reverse("athome:start", args=[self.quinn.pk])).status_code, 404
        )
        self.assertEqual(HomeSession.objects.filter(patient=self.quinn).count(), 1)
        self.quinn_session.refresh_from_db()
        self.assertEqual(self.quinn_session.state, "taken")

    def test_a_patient_cannot_open_the_staff_tab_of_their_own_chart(self) -> None:
        self.login(self.pat_user)
        response = self.client.get(reverse("athome:patient", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 403)
        self.assertNotContains(response, "Lozenge counts", status_code=403)

    def test_staff_of_another_clinic_get_404(self) -> None:
        self.login(self.oscar)
        response = self.client.get(reverse("athome:patient", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.pat.last_name, shown_text(response))
        self.assertEqual(
            self.client.get(reverse("athome:reconcile", args=[self.pat_rx.pk])).status_code, 404
        )

    def test_the_chart_tab_shows_each_check_in_item(self) -> None:
        self.login(self.nick)
        response = self.client.get(reverse("athome:patient", args=[self.quinn.pk]))
        self.assertContains(response, "all 5 passed")
        self.assertContains(response, "BP 128/82, monitor Robin")
        self.assertContains(response, "100.0 mg at")
