"""Texts patients send to the clinic's number reach their care team as secure messages.

Every text goes through the provider's real webhook with a valid signature.
"""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

from django.urls import reverse

from katclinic.measures.models import AlertKind, SafetyAlert
from katclinic.messaging.models import Message, Thread
from katclinic.messaging.tests.base import MessagingTestCase
from katclinic.patients.models import Patient
from katclinic.scheduling.models import InboundText
from katclinic.scheduling.tests.test_sms_inbound import TOKEN, URL, twilio_signature

CLINIC_NUMBER = "+1 555-0199"


@mock.patch.dict(os.environ, {"SMS_AUTH_TOKEN": TOKEN, "SMS_WEBHOOK_URL": URL})
class InboundTextsToThreadsTest(MessagingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.clinic.phone = "555-0199"
        self.clinic.save(update_fields=["phone"])
        # Every test patient has one number; give pat her own.
        Patient.objects.filter(pk=self.pat.pk).update(phone="555-0177")

    def text(self, body: str, sender: str = "+1 555-0177", to: str = CLINIC_NUMBER) -> Any:
        params = {"From": sender, "To": to, "Body": body, "MessageSid": "SM1"}
        headers = {"X-Twilio-Signature": twilio_signature(URL, params, TOKEN)}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("scheduling:sms_inbound"), params, headers=headers)

    def test_a_patients_text_becomes_their_message_and_waits_unread_for_staff(self) -> None:
        response = self.text("Can I bring my partner to the next session?")
        self.assertContains(response, "your message is with the clinic")
        message = Message.objects.get()
        self.assertEqual(
            (message.thread.patient, message.author, message.from_patient),
            (self.pat, self.pat_user, True),
        )
        self.assertEqual(message.body, "Can I bring my partner to the next session?")
        self.assertEqual(message.thread.subject, "Text message")
        self.assertIsNotNone(message.thread.waiting_since)
        self.assertEqual(Thread.objects.unread_for(self.tara).count(), 1)
        self.assertFalse(InboundText.objects.exists())
        self.text("And can we park outside?")
        self.assertEqual(Thread.objects.count(), 1)  # the same thread goes on
        self.assertEqual(Message.objects.filter(thread=message.thread).count(), 2)
        self.login(self.tara)
        inbox = self.client.get(reverse("messaging:inbox"), {"show": "unread"})
        self.assertContains(inbox, self.pat.full_name)

    def test_a_text_continues_the_patients_latest_thread(self) -> None:
        older, _ = self.patient_thread(subject="Older")
        newer, _ = self.patient_thread(subject="Newer")
        self.text("Running late")
        self.assertEqual(Message.objects.filter(body="Running late").get().thread, newer)
        self.assertEqual(older.messages.count(), 1)

    def test_words_of_self_harm_raise_the_alert_and_answer_with_crisis_resources(self) -> None:
        response = self.text("I want to die")
        self.assertContains(response, "Call the North crisis line at 555-0111")
        message = Message.objects.get()
        self.assertEqual(message.crisis_words, ["want to die"])
        alert = SafetyAlert.objects.get(patient=self.pat)
        self.assertEqual(alert.kind, AlertKind.CRISIS_TEXT)

    def test_the_answer_is_in_the_patients_language(self) -> None:
        Patient.objects.filter(pk=self.pat.pk).update(preferred_language="es")
        self.assertContains(self.text("Llego tarde"), "Gracias, su mensaje está con la clínica")
        self.assertContains(self.text("HELP"), "para ayuda con sus citas")

    def test_keywords_do_not_become_messages(self) -> None:
        self.assertContains(self.text("STOP"), "no more texts")
        self.assertContains(self.text("START"), "Texts are back on")
        self.assertContains(self.text("HELP"), "555-0199")
        self.assertFalse(Message.objects.exists())
        self.assertFalse(InboundText.objects.exists())

    def test_an_unknown_number_is_listed_for_front_desk_of_the_clinic_texted(self) -> None:
        response = self.text("Do you take new patients?", sender="+1 212 555 0000")
        self.assertContains(response, "555-0199")
        kept = InboundText.objects.get()
        self.assertEqual((kept.clinic, kept.patient), (self.clinic, None))
        self.assertTrue(kept.from_digits.endswith("2125550000"))
        self.assertFalse(Message.objects.exists())
        self.login(self.alice)
        page = self.client.get(reverse("scheduling:failed_reminders"))
        self.assertContains(page, "Do you take new patients?")
        nowhere = self.text("Hello", sender="+1 212 555 0001", to="+1 999 555 1234")
        self.assertNotContains(nowhere, "<Message>")
        self.assertEqual(InboundText.objects.count(), 1)

    def test_an_empty_text_is_kept_for_front_desk_not_as_a_message(self) -> None:
        self.text("   ")
        self.assertFalse(Message.objects.exists())
        self.assertEqual(InboundText.objects.get().patient, self.pat)
