from django.core import mail

from katclinic.portal.models import AppointmentRequest
from katclinic.portal.tests import fixtures
from katclinic.testing import ClinicTestCase

REQUEST_LIST_QUERIES = 4


class AppointmentRequestTest(ClinicTestCase):
    def setUp(self) -> None:
        self.clinic.email = "desk@north.example"
        self.clinic.save(update_fields=["email"])

    def test_a_patient_asks_to_move_a_visit_and_the_front_desk_hears_of_it(self) -> None:
        visit = fixtures.appointment(self, self.pat)
        self.login(self.pat_user)
        response = self.client.post(
            f"/portal/{self.pat.pk}/visits/",
            {
                "appointment": visit.pk,
                "kind": "reschedule",
                "preferred_times": "Tuesday mornings",
            },
        )
        self.assertRedirects(
            response, f"/portal/{self.pat.pk}/visits/", fetch_redirect_response=False
        )
        made = AppointmentRequest.objects.get()
        self.assertEqual(
            (made.patient_id, made.appointment_id, made.status), (self.pat.pk, visit.pk, "open")
        )
        self.assertEqual(made.appointment_starts_at, visit.start)
        self.assertEqual(mail.outbox[-1].to, ["desk@north.example"])
        self.assertNotIn("Pat", mail.outbox[-1].body, "no patient details in the email")

        self.login(self.alice)
        self.assertContains(self.client.get("/portal/requests/"), "Tuesday mornings")
        self.client.post(f"/portal/requests/{made.pk}/done/")
        made.refresh_from_db()
        self.assertEqual((made.status, made.handled_by), ("done", self.alice))

    def test_a_reschedule_needs_preferred_times(self) -> None:
        self.login(self.pat_user)
        response = self.client.post(f"/portal/{self.pat.pk}/visits/", {"kind": "reschedule"})
        self.assertContains(response, "Tell us which days", status_code=400)
        self.assertFalse(AppointmentRequest.objects.exists())

    def test_a_patient_cannot_name_another_patients_visit(self) -> None:
        theirs = fixtures.appointment(self, self.quinn)
        self.login(self.pat_user)
        response = self.client.post(
            f"/portal/{self.pat.pk}/visits/", {"appointment": theirs.pk, "kind": "cancel"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(AppointmentRequest.objects.exists())

    def test_past_sessions_are_listed(self) -> None:
        fixtures.session(self, self.pat, days_ago=10)
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/visits/")
        self.assertContains(response, "Treatment session")

    def test_another_clinic_cannot_handle_our_requests(self) -> None:
        made = AppointmentRequest.objects.create(
            clinic=self.clinic, patient=self.pat, kind="cancel"
        )
        self.login(self.oscar)
        self.assertEqual(self.client.post(f"/portal/requests/{made.pk}/done/").status_code, 404)
        made.refresh_from_db()
        self.assertEqual(made.status, "open")

    def test_the_request_list_costs_the_same_for_any_number_of_requests(self) -> None:
        self.login(self.alice)
        AppointmentRequest.objects.create(clinic=self.clinic, patient=self.pat, kind="cancel")
        self.client.get("/portal/requests/")  # the first request also writes the session
        with self.assertNumQueries(REQUEST_LIST_QUERIES):
            self.client.get("/portal/requests/")
        for patient in (self.pat, self.quinn) * 5:
            AppointmentRequest.objects.create(
                clinic=self.clinic, patient=patient, kind="reschedule"
            )
        with self.assertNumQueries(REQUEST_LIST_QUERIES):
            self.client.get("/portal/requests/")
