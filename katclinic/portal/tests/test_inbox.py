"""One request inbox: the three kinds of request, filters, what each role sees, the public
form's address and its QR code."""

from katclinic.audit.models import AuditEvent
from katclinic.intake.models import ConsultationRequest
from katclinic.portal.models import AppointmentRequest as PatientRequest
from katclinic.portal.tests import fixtures
from katclinic.scheduling.models import AppointmentRequest as BookingRequest
from katclinic.testing import ClinicTestCase


class InboxTest(ClinicTestCase):
    def setUp(self) -> None:
        ConsultationRequest.objects.create(
            clinic=self.clinic,
            name="Robin Hart",
            email="robin@example.org",
            consent_to_contact=True,
            urgent=True,
        )
        BookingRequest.objects.create(
            clinic=self.clinic, name="Sam Vale", email="sam@example.org", preferred_times="Fridays"
        )
        visit = fixtures.appointment(self, self.pat)
        PatientRequest.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            appointment=visit,
            kind="reschedule",
            preferred_times="Tuesday mornings",
        )
        ConsultationRequest.objects.create(
            clinic=self.other_clinic,
            name="Elsewhere Person",
            email="e@example.org",
            consent_to_contact=True,
        )

    def test_front_desk_sees_every_kind_urgent_first_and_only_its_clinic(self) -> None:
        self.login(self.alice)
        response = self.client.get("/portal/inbox/")
        self.assertEqual(response.status_code, 200)
        rows = response.context["rows"]
        self.assertEqual([r.kind for r in rows][0], "consultation")
        self.assertEqual({r.who for r in rows}, {"Robin Hart", "Sam Vale", self.pat.full_name})
        self.assertNotContains(response, "Elsewhere Person")
        self.assertContains(response, f"/intake/c/{self.clinic.slug}/")
        self.assertContains(response, "data:image/svg+xml")

    def test_the_patients_shown_are_audited(self) -> None:
        self.login(self.alice)
        before = AuditEvent.objects.filter(object_type="list").count()
        self.client.get("/portal/inbox/")
        event = AuditEvent.objects.filter(object_type="list").latest("id")
        self.assertEqual(AuditEvent.objects.filter(object_type="list").count(), before + 1)
        self.assertEqual(event.patient_id, self.pat.pk)

    def test_filter_by_kind(self) -> None:
        self.login(self.alice)
        rows = self.client.get("/portal/inbox/", {"kind": "booking"}).context["rows"]
        self.assertEqual([r.who for r in rows], ["Sam Vale"])

    def test_a_nurse_sees_visit_requests_but_not_consultation_screenings(self) -> None:
        self.login(self.nick)
        response = self.client.get("/portal/inbox/")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("consultation", {r.kind for r in response.context["rows"]})
        self.assertNotContains(response, "Robin Hart")

    def test_an_unknown_filter_is_refused_naming_it(self) -> None:
        self.login(self.alice)
        for params, field in (({"kind": "x"}, "kind"), ({"state": "gone"}, "state")):
            with self.subTest(field=field):
                response = self.client.get("/portal/inbox/", params)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)

    def test_a_therapist_cannot_open_it(self) -> None:
        self.login(self.tara)
        self.assertEqual(self.client.get("/portal/inbox/").status_code, 403)
        self.assertDenialsRecorded("/portal/inbox/")
