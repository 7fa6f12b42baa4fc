"""The staff inbox: states with history, urgent first, conversion to a patient."""

from __future__ import annotations

from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.intake import services
from katclinic.intake.models import ConsultationRequest, RequestEvent
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase


def submit(
    clinic: object, name: str, *, item9: int | None = None, ip: str = "192.0.2.1"
) -> ConsultationRequest:
    phq9 = None
    if item9 is not None:
        phq9 = services.score_phq9({f"q{i}": 0 for i in range(1, 9)} | {"q9": item9})
    data = {
        "name": name,
        "email": f"{name.split()[0].lower()}@example.org",
        "phone": "",
        "preferred_times": "",
        "reason": "",
        "consent_to_contact": True,
    }
    return services.submit_request(clinic=clinic, data=data, phq9=phq9, ip=ip)  # type: ignore[arg-type]


class InboxTest(ClinicTestCase):
    def setUp(self) -> None:
        self.calm = submit(self.clinic, "Casey Calm")
        self.urgent = submit(self.clinic, "Uma Urgent", item9=2)
        self.elsewhere = submit(self.other_clinic, "Sam Elsewhere")

    def test_urgent_requests_come_first_and_are_highlighted(self) -> None:
        self.login(self.alice)
        with self.assertNumQueries(5):
            response = self.client.get(reverse("intake:requests"))
        names = [r.name for r in response.context["page"]]
        self.assertEqual(names, ["Uma Urgent", "Casey Calm"])
        self.assertContains(response, "Urgent: PHQ-9 item 9")
        self.assertNotContains(response, "Sam Elsewhere")

    def test_a_state_change_records_who_acted_and_when(self) -> None:
        self.login(self.alice)
        url = reverse("intake:request_state", args=[self.calm.pk])
        response = self.client.post(url, {"to_state": "contacted", "note": "Left voicemail"})
        self.assertRedirects(response, reverse("intake:request_detail", args=[self.calm.pk]))
        self.calm.refresh_from_db()
        self.assertEqual(self.calm.state, "contacted")
        event = RequestEvent.objects.filter(request=self.calm).last()
        assert event is not None
        self.assertEqual(
            (event.from_state, event.to_state, event.by, event.note),
            ("new", "contacted", self.alice, "Left voicemail"),
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                action="update", object_id=str(self.calm.pk), user=self.alice
            ).exists()
        )

    def test_it_refuses_an_impossible_state_change(self) -> None:
        services.change_request_state(
            consultation=self.calm, to_state="declined", note="", by=self.alice
        )
        self.login(self.alice)
        response = self.client.post(
            reverse("intake:request_state", args=[self.calm.pk]), {"to_state": "booked"}
        )
        self.assertEqual(response.status_code, 400)
        self.calm.refresh_from_db()
        self.assertEqual(self.calm.state, "declined")

    def test_a_request_converts_into_a_patient_without_retyping(self) -> None:
        self.login(self.alice)
        url = reverse("intake:request_convert", args=[self.calm.pk])
        form = self.client.get(url).context["form"]
        self.assertEqual((form.initial["first_name"], form.initial["last_name"]), ("Casey", "Calm"))
        data = {name: value for name, value in form.initial.items()} | {
            "date_of_birth": "1990-05-06",
            "sex_at_birth": "female",
        }
        response = self.client.post(url, data)
        patient = Patient.objects.get(first_name="Casey", last_name="Calm")
        self.assertRedirects(
            response, reverse("patients:chart", args=[patient.pk]), fetch_redirect_response=False
        )
        self.assertEqual(
            (patient.clinic, patient.email, patient.stage),
            (self.clinic, "casey@example.org", "inquiry"),
        )
        self.calm.refresh_from_db()
        self.assertEqual((self.calm.state, self.calm.patient), ("converted", patient))
        self.assertTrue(AuditEvent.objects.filter(action="create", patient_id=patient.pk).exists())

    def test_a_converted_request_cannot_convert_again(self) -> None:
        services.convert_request(
            consultation=self.calm,
            by=self.alice,
            data={
                "first_name": "Casey",
                "last_name": "Calm",
                "date_of_birth": "1990-05-06",
                "phone": "555",
            },
        )
        self.login(self.alice)
        before = Patient.objects.count()
        response = self.client.post(
            reverse("intake:request_convert", args=[self.calm.pk]),
            {
                "first_name": "Casey",
                "last_name": "Calm",
                "date_of_birth": "1990-05-06",
                "sex_at_birth": "female",
                "phone": "555-0100",
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Patient.objects.count(), before)

    def test_another_clinics_request_answers_404(self) -> None:
        self.login(self.alice)
        response = self.client.get(reverse("intake:request_detail", args=[self.elsewhere.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "Sam Elsewhere", status_code=404)

    def test_nurses_and_therapists_do_not_triage_requests(self) -> None:
        for user in (self.nick, self.tara):
            self.login(user)
            response = self.client.post(
                reverse("intake:request_state", args=[self.calm.pk]), {"to_state": "declined"}
            )
            self.assertEqual(response.status_code, 403)
        self.calm.refresh_from_db()
        self.assertEqual(self.calm.state, "new")

    def test_the_api_lists_requests_for_a_token_with_the_patients_read_scope(self) -> None:
        from katclinic.api.models import ApiToken

        _, raw = ApiToken.issue(
            user=self.alice, clinic=self.clinic, name="t", scopes=["patients:read"]
        )
        response = self.client.get(
            "/api/intake/requests", headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            [r["name"] for r in response.json()["items"]], ["Uma Urgent", "Casey Calm"]
        )
