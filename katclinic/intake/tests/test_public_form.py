"""The public page and its consultation form: good requests, bad input, abuse."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.intake.models import ConsultationRequest, RequestEvent
from katclinic.testing import ClinicTestCase


def phq9(item9: int = 0, rest: int = 1) -> dict[str, str]:
    answers = {f"phq9_q{i}": str(rest) for i in range(1, 9)}
    answers["phq9_q9"] = str(item9)
    return answers


class PublicFormTest(ClinicTestCase):
    def setUp(self) -> None:
        self.clinic.crisis_resources = "Call or text 988 now."
        self.clinic.phone = "555-0100"
        self.clinic.save()
        self.url = reverse("intake:public", args=[self.clinic.slug])

    def post(self, **data: Any) -> Any:
        body = {
            "name": "Robin Hale",
            "email": "robin@example.org",
            "consent_to_contact": "on",
        } | data
        return self.client.post(self.url, {k: v for k, v in body.items() if v is not None})

    def test_the_page_explains_kat_and_shows_the_clinics_contact_without_sign_in(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        for words in (
            "What it is",
            "dissociation",
            "nausea",
            "headache",
            "not for everyone",
            "555-0100",
        ):
            self.assertContains(response, words)

    def test_an_unknown_clinic_answers_404(self) -> None:
        self.assertEqual(
            self.client.get(reverse("intake:public", args=["nowhere"])).status_code, 404
        )

    def test_it_stores_a_request_with_its_history_and_audit_event(self) -> None:
        response = self.post(
            phone="555-0142", preferred_times="Mornings", reason="Depression", **phq9()
        )
        self.assertRedirects(response, reverse("intake:public_thanks", args=[self.clinic.slug]))
        stored = ConsultationRequest.objects.get()
        self.assertEqual(
            (stored.clinic, stored.state, stored.phq9_total, stored.urgent),
            (self.clinic, "new", 8, False),
        )
        self.assertEqual(stored.phq9_band, "mild")
        self.assertEqual(RequestEvent.objects.get().to_state, "new")
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="intake.consultationrequest", action="create"
            ).exists()
        )

    def test_a_positive_item_9_shows_crisis_resources_and_flags_the_request_urgent(self) -> None:
        response = self.post(**phq9(item9=1, rest=0))
        self.assertTrue(ConsultationRequest.objects.get().urgent)
        page = self.client.get(response["Location"])
        self.assertContains(page, "Call or text 988 now.")
        self.assertContains(page, "urgent")

    def test_the_form_shows_crisis_resources_next_to_item_9_for_the_script_to_reveal(self) -> None:
        response = self.client.get(self.url)
        self.assertContains(response, 'id="crisis-now"')
        self.assertContains(response, "intake/public.js")

    def assert_refused(self, response: Any, status: int, words: str) -> None:
        self.assertEqual(response.status_code, status)
        self.assertContains(response, words, status_code=status)
        self.assertFalse(ConsultationRequest.objects.exists())
        self.assertFalse(RequestEvent.objects.exists())

    def test_it_refuses_a_request_without_any_contact(self) -> None:
        self.assert_refused(self.post(email=""), 400, "Give an email address or a phone number")

    def test_it_refuses_a_request_without_consent_to_be_contacted(self) -> None:
        self.assert_refused(self.post(consent_to_contact=None), 400, "Tick this box")

    def test_it_refuses_a_bad_email_and_an_overlong_reason(self) -> None:
        self.assert_refused(self.post(email="not-an-email"), 400, "valid email")
        self.assert_refused(self.post(reason="x" * 1001), 400, "at most 1000 characters")

    def test_it_refuses_a_partial_or_out_of_range_phq9(self) -> None:
        self.assert_refused(self.post(phq9_q1="2"), 400, "required answer is missing")
        self.assert_refused(self.post(**(phq9() | {"phq9_q9": "7"})), 400, "Select a valid choice")

    def test_it_refuses_a_filled_honeypot(self) -> None:
        self.assert_refused(self.post(website="http://spam.example"), 400, "could not be accepted")

    def test_it_refuses_an_oversized_body(self) -> None:
        self.assert_refused(self.post(preferred_times="y" * 20_000), 413, "too large")

    def test_it_rate_limits_one_contact(self) -> None:
        for _ in range(3):
            self.assertEqual(self.post(email="same@example.org").status_code, 302)
        response = self.post(email="same@example.org")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "already have requests from this email", status_code=429)
        self.assertEqual(ConsultationRequest.objects.count(), 3)

    def test_it_rate_limits_one_network_address(self) -> None:
        for n in range(10):
            self.assertEqual(self.post(email=f"p{n}@example.org").status_code, 302)
        response = self.post(email="another@example.org")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many requests from your network", status_code=429)
        self.assertEqual(ConsultationRequest.objects.count(), 10)

    def test_the_same_phone_written_differently_counts_as_one_contact(self) -> None:
        for phone in ("555-0142", "(555) 0142", "5550142"):
            self.assertEqual(self.post(email="", phone=phone).status_code, 302)
        self.assertEqual(self.post(email="", phone="555 0142").status_code, 429)
        self.assertEqual(ConsultationRequest.objects.count(), 3)
