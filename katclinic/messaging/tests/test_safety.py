"""Words of self-harm in a patient's message: crisis resources at once, and a safety alert
in the clinic's closed loop. Notifications say only that a message is waiting."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.urls import reverse

from katclinic.clinics.registry import set_setting
from katclinic.measures.models import AlertKind, AlertState, SafetyAlert
from katclinic.messaging import services
from katclinic.messaging.tests.base import MessagingTestCase
from katclinic.scheduling.sms import ConsoleSmsBackend

SUBJECT = "Ketamine dose and my depression"
BODY = "Since the esketamine session my anxiety about the sertraline is worse."


class CrisisWordsTest(MessagingTestCase):
    def send_new(self, body: str) -> Any:
        self.login(self.pat_user)
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(
                reverse("messaging:mine_new", args=[self.pat.pk]),
                {"subject": "This week", "body": body},
                follow=True,
            )

    def test_words_of_self_harm_show_crisis_resources_and_raise_an_alert(self) -> None:
        page = self.send_new("Some nights I want to die and I do not know who to tell.")

        self.assertContains(page, 'role="alert"')
        self.assertContains(page, "Call the North crisis line at 555-0111")
        self.assertContains(page, "988")
        alert = SafetyAlert.objects.get(patient=self.pat)
        self.assertEqual(alert.kind, AlertKind.CRISIS_TEXT)
        self.assertEqual(alert.state, AlertState.OPEN)
        self.assertEqual(alert.assigned_to, self.paula)
        self.assertIsNone(alert.response)
        self.assertIn("safety alert", " ".join(str(m.subject) for m in mail.outbox))

    def test_the_open_alert_stops_the_next_dose_at_the_gate(self) -> None:
        self.send_new("I keep thinking I would be better off dead.")

        self.assertTrue(SafetyAlert.objects.open_alerts(self.pat).exists())

    def test_an_ordinary_message_raises_nothing_and_shows_no_crisis_box(self) -> None:
        page = self.send_new("Can we move Friday's visit to the afternoon?")

        self.assertNotContains(page, "You do not have to handle this alone")
        self.assertFalse(SafetyAlert.objects.filter(patient=self.pat).exists())

    def test_a_reply_with_crisis_words_raises_an_alert_too(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.pat_user)
        with self.captureOnCommitCallbacks(execute=True):
            page = self.client.post(
                reverse("messaging:mine_reply", args=[self.pat.pk, thread.pk]),
                {"body": "I thought about how I would KILL MYSELF."},
                follow=True,
            )

        self.assertContains(page, "You do not have to handle this alone")
        self.assertEqual(SafetyAlert.objects.filter(patient=self.pat).count(), 1)

    def test_the_clinic_setting_decides_the_phrases(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="messaging_crisis_phrases",
            raw="no way out, give up on everything",
            by=self.adam,
            reason="Our own list",
        )
        self.send_new("I want to die.")
        self.assertFalse(SafetyAlert.objects.filter(patient=self.pat).exists())

        self.send_new("There is no way out for me.")

        self.assertEqual(SafetyAlert.objects.filter(patient=self.pat).count(), 1)

    def test_staff_messages_never_raise_alerts(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            services.start_thread(
                request=None,
                by=self.tara,
                patient=self.pat,
                subject="Safety plan",
                body="If you have thoughts of suicide, call 988.",
            )

        self.assertFalse(SafetyAlert.objects.exists())

    def test_every_compose_screen_states_reply_time_and_no_round_the_clock_watch(self) -> None:
        thread, _ = self.patient_thread()
        self.login(self.pat_user)
        screens = [
            reverse("messaging:mine_new", args=[self.pat.pk]),
            reverse("messaging:mine_thread", args=[self.pat.pk, thread.pk]),
        ]
        self.login(self.pat_user)
        pages = [self.client.get(url) for url in screens]
        self.login(self.tara)
        pages += [
            self.client.get(reverse("messaging:start", args=[self.pat.pk])),
            self.client.get(reverse("messaging:thread", args=[thread.pk])),
        ]
        for page in pages:
            self.assertContains(page, "within 2 business days")
            self.assertContains(page, "not watched around the clock")
            self.assertContains(page, "Call the North crisis line at 555-0111")


class NotificationTest(MessagingTestCase):
    def forbidden(self) -> list[str]:
        words = [SUBJECT, "ketamine", "depression", "esketamine", "sertraline", "anxiety"]
        return [*words, self.pat.full_name, self.pat.first_name, self.pat.last_name, self.pat.mrn]

    def assert_clean(self, text: str) -> None:
        """No subject, no words of the message, no name or record number."""
        for word in self.forbidden():
            self.assertIsNone(re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE), word)

    def test_the_care_team_email_says_only_that_a_message_waits(self) -> None:
        thread, _ = self.patient_thread(subject=SUBJECT, body=BODY)

        self.assertEqual(len(mail.outbox), 1)
        sent = mail.outbox[0]
        self.assertEqual(sent.to, [self.paula.email])
        self.assert_clean(f"{sent.subject} {sent.body}")
        self.assertIn(reverse("messaging:thread", args=[thread.pk]), sent.body)

    def test_the_patient_email_and_text_say_only_that_a_message_waits(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="messaging_text_notifications",
            raw="on",
            by=self.adam,
            reason="Patients asked for texts",
        )
        thread, _ = self.patient_thread(subject=SUBJECT, body=BODY)
        mail.outbox.clear()
        with self.captureOnCommitCallbacks(execute=True):
            services.reply(request=None, by=self.tara, thread=thread, body=BODY)

        self.assertEqual([m.to for m in mail.outbox], [[self.pat_user.email]])
        self.assert_clean(f"{mail.outbox[0].subject} {mail.outbox[0].body}")
        self.assertNotIn(self.clinic.name, mail.outbox[0].body)
        link = reverse("messaging:mine", args=[self.pat.pk])
        self.assertIn(link, mail.outbox[0].body)
        self.assertEqual(len(ConsoleSmsBackend.outbox), 1)
        self.assert_clean(ConsoleSmsBackend.outbox[0].body)
        self.assertIn(link, ConsoleSmsBackend.outbox[0].body)

    def test_a_patient_without_email_is_told_by_text_only(self) -> None:
        patient = self.make_patient(self.clinic, "Ria", "Noemail", "K000009")
        with self.captureOnCommitCallbacks(execute=True):
            services.start_thread(
                request=None, by=self.tara, patient=patient, subject=SUBJECT, body=BODY
            )

        self.assertEqual(mail.outbox, [])
        self.assertEqual([s.to for s in ConsoleSmsBackend.outbox], ["555-0101"])
        self.assert_clean(ConsoleSmsBackend.outbox[0].body)

    def test_a_rolled_back_message_tells_no_one(self) -> None:
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            services.start_thread(
                request=None, by=self.pat_user, patient=self.pat, subject="Hi", body="Hello"
            )

        self.assertEqual(mail.outbox, [])
        self.assertEqual(len(callbacks), 1)
