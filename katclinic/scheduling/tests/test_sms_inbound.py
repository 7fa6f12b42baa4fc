"""Texts patients send back: the provider's signed webhook, reply keywords, STOP and START."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import timedelta
from typing import Any
from unittest import mock

from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.models import ClinicSetting
from katclinic.patients.models import Patient
from katclinic.scheduling import inbound, reminders
from katclinic.scheduling.models import (
    Appointment,
    InboundText,
    Reminder,
    ReminderState,
    SmsOptOut,
    State,
)
from katclinic.scheduling.sms import ConsoleSmsBackend
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase

TOKEN = "test-auth-token-0123456789"  # noqa: S105 - a test value
URL = "http://testserver/scheduling/sms/inbound/"
FROM = "+1 555-0101"  # pat's and quinn's number, written as the provider sends it


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's published recipe, written out here independently of the code under test."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SignatureTest(ClinicTestCase):
    def test_matches_twilios_published_example(self) -> None:
        # The worked example in Twilio's "Webhooks security" page.
        params = {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+12349013030",
            "Digits": "1234",
            "From": "+12349013030",
            "To": "+18005551212",
        }
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        self.assertEqual(twilio_signature(url, params, "12345"), expected)
        lists = [(key, [value]) for key, value in params.items()]
        self.assertEqual(inbound.signature(url, lists, "12345"), expected)


@mock.patch.dict(os.environ, {"SMS_AUTH_TOKEN": TOKEN, "SMS_WEBHOOK_URL": URL})
class InboundTextTest(ClinicTestCase):
    def setUp(self) -> None:
        self.clinic.phone = "555-0199"
        self.clinic.save(update_fields=["phone"])
        self.visit = fixtures.appointment(self, kind="integration")
        now = timezone.now()
        self.reminder = Reminder.objects.create(
            clinic=self.clinic,
            appointment=self.visit,
            channel="sms",
            send_at=now - timedelta(hours=1),
            next_attempt_at=now - timedelta(hours=1),
            state=ReminderState.SENT,
            sent_at=now - timedelta(hours=1),
            attempts=1,
        )
        self.url = reverse("scheduling:sms_inbound")

    def text(self, body: str, sender: str = FROM, signature: str | None = None) -> Any:
        params = {"From": sender, "To": "+15550000", "Body": body, "MessageSid": "SM1"}
        sign = twilio_signature(URL, params, TOKEN) if signature is None else signature
        headers = {"X-Twilio-Signature": sign} if sign else {}
        return self.client.post(self.url, params, headers=headers)

    def assert_state(self, state: str) -> None:
        self.visit.refresh_from_db()
        self.assertEqual(self.visit.state, state)

    def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(self) -> None:
        for signature in ("", "bm90IHRoZSBzaWduYXR1cmU=", twilio_signature(URL, {}, TOKEN)):
            response = self.text("C", signature=signature)
            self.assertEqual(response.status_code, 403)
            self.assertContains(response, "X-Twilio-Signature", status_code=403)
        self.assertEqual(self.text("Running late", signature="").status_code, 403)
        self.assert_state(State.BOOKED)
        self.assertFalse(InboundText.objects.exists())
        with mock.patch.dict(os.environ, {"SMS_AUTH_TOKEN": ""}):
            self.assertEqual(self.text("C").status_code, 403)  # no token set: nothing passes
        self.assert_state(State.BOOKED)

    def test_confirm_words_confirm_the_reminded_visit(self) -> None:
        response = self.text("yes")
        self.assertContains(response, "<Message>Thank you, your visit is confirmed.</Message>")
        self.assertEqual(response["Content-Type"], "text/xml; charset=utf-8")
        self.assert_state(State.CONFIRMED)
        self.assertContains(self.text("C"), "confirmed")
        self.assert_state(State.CONFIRMED)

    def test_cancel_cancels_inside_the_policy_and_otherwise_says_to_call(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic,
            key="scheduling_online_cancel_notice_hours",
            value=720,
            changed_by=self.adam,
        )
        response = self.text("CANCEL")
        self.assertContains(response, "too soon to cancel by text")
        self.assertContains(response, "555-0199")
        self.assert_state(State.BOOKED)
        ClinicSetting.objects.filter(key="scheduling_online_cancel_notice_hours").delete()
        self.assertContains(self.text("x"), "Your visit is cancelled.")
        self.assert_state(State.CANCELLED)
        self.assertIn("by text", Appointment.objects.get(pk=self.visit.pk).cancel_reason)

    def test_stop_is_honoured_by_the_reminder_sender_and_start_lifts_it(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="scheduling_reminder_sms", value=True, changed_by=self.adam
        )
        self.assertContains(self.text("STOP"), "no more texts")
        self.assertTrue(SmsOptOut.objects.filter(clinic=self.clinic).exists())
        due = Reminder.objects.create(
            clinic=self.clinic,
            appointment=self.visit,
            channel="sms",
            send_at=timezone.now() - timedelta(minutes=1),
            next_attempt_at=timezone.now() - timedelta(minutes=1),
        )
        sent_before = len(ConsoleSmsBackend.outbox)
        reminders.send_due()
        due.refresh_from_db()
        self.assertEqual(due.state, ReminderState.CANCELLED)
        self.assertIn("STOP", due.last_error)
        self.assertEqual(len(ConsoleSmsBackend.outbox), sent_before)
        later = fixtures.appointment(self)
        self.assertFalse(later.reminders.filter(channel="sms").exists())
        self.assertContains(self.text("start"), "Texts are back on")
        self.assertFalse(SmsOptOut.objects.exists())
        again = fixtures.appointment(self)
        self.assertTrue(again.reminders.filter(channel="sms").exists())
        due.state, due.next_attempt_at = ReminderState.PENDING, timezone.now()
        due.save(update_fields=["state", "next_attempt_at"])
        reminders.send_due()
        self.assertEqual(len(ConsoleSmsBackend.outbox), sent_before + 1)
        self.assertIn("Reply C to confirm or X to cancel", ConsoleSmsBackend.outbox[-1].body)

    def test_help_answers_with_the_clinic_phone(self) -> None:
        self.assertContains(self.text("HELP"), "555-0199")
        self.assertFalse(InboundText.objects.exists())

    def test_anything_else_from_a_patient_without_an_account_is_kept_for_front_desk(self) -> None:
        Patient.objects.filter(pk=self.pat.pk).update(user=None)
        response = self.text("Running 10 minutes late, sorry")
        self.assertContains(response, "not watched around the clock")
        kept = InboundText.objects.get()
        self.assertEqual((kept.clinic, kept.patient), (self.clinic, self.pat))
        self.assert_state(State.BOOKED)
        self.login(self.alice)
        page = self.client.get(reverse("scheduling:failed_reminders"))
        self.assertContains(page, "Running 10 minutes late, sorry")
        self.assertContains(page, self.pat.full_name)

    def test_a_number_no_patient_has_stores_nothing(self) -> None:
        response = self.text("hello", sender="+44 20 7946 0000")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "<Message>")
        self.assertFalse(InboundText.objects.exists())

    def test_bad_input_names_the_field_and_changes_nothing(self) -> None:
        self.assertContains(self.text("C", sender=""), "From", status_code=400)
        self.assertContains(self.text("x" * 1601), "Body", status_code=400)
        self.assertContains(self.text("C", sender="5" * 41), "From", status_code=400)
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.assert_state(State.BOOKED)
        self.assertFalse(InboundText.objects.exists())
