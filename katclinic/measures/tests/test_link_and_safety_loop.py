"""The loop end to end: an emailed PHQ-9 link, an item-9 answer, crisis resources,
and the clinician acknowledging and closing the alert."""

import re
from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.measures import services
from katclinic.measures.models import AlertState, Invitation, Response, SafetyAlert
from katclinic.measures.tests.helpers import PHQ9_ITEM9, PHQ9_MILD, emailed_invitation, form_data
from katclinic.testing import ClinicTestCase


class EmailedLinkTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.pat.email = "pat@example.org"
        cls.pat.save()
        cls.clinic.crisis_resources = "Call or text 988 any time."
        cls.clinic.save()

    def test_patient_answers_emailed_phq9_with_item9_and_clinician_closes_the_alert(self) -> None:
        services.invite(patient=self.pat, instrument_key="phq9", by=self.paula, request=None)
        self.assertEqual(len(mail.outbox), 1)
        found = re.search(r"https?://\S+/measures/q/\S+/", str(mail.outbox[0].body))
        assert found is not None  # noqa: S101
        link = found.group(0)
        path = link[link.index("/measures/") :]
        self.assertEqual(self.client.get(path).status_code, 200)
        with self.captureOnCommitCallbacks(execute=True):
            page = self.client.post(path, form_data(PHQ9_ITEM9) | {"comment": ""})
        self.assertContains(page, "Call or text 988 any time.")
        response = Response.objects.get(patient=self.pat)
        self.assertEqual(
            (response.total, response.source, response.flags), (17, "link", ["suicidal_ideation"])
        )
        alert = SafetyAlert.objects.get(patient=self.pat)
        self.assertEqual(
            (alert.kind, alert.assigned_to, alert.state), ("phq9_item9", self.paula, "open")
        )
        self.assertEqual(mail.outbox[-1].to, [self.paula.email])
        self.assertTrue(Invitation.objects.get().used_at)

        self.login(self.paula)
        self.assertContains(self.client.get(reverse("measures:alert_banner")), "1 safety alert")
        self.client.post(reverse("measures:alert_ack", args=[alert.pk]))
        self.client.post(
            reverse("measures:alert_close", args=[alert.pk]),
            {"action": "safety_plan", "note": "Seen today."},
        )
        alert.refresh_from_db()
        self.assertEqual(
            (alert.state, alert.action, alert.acknowledged_by),
            (AlertState.CLOSED, "safety_plan", self.paula),
        )
        steps = list(
            AuditEvent.objects.filter(object_type="measures.safetyalert").values_list(
                "action", "detail"
            )
        )
        self.assertEqual(
            [d.get("step", a) for a, d in steps if a != "view"],
            ["create", "acknowledged", "closed"],
        )
        self.assertNotContains(self.client.get(reverse("measures:alert_banner")), "safety alert")

    def test_a_link_works_once(self) -> None:
        _, raw = emailed_invitation(self)
        url = reverse("measures:link", args=[raw])
        self.assertEqual(self.client.post(url, form_data(PHQ9_MILD)).status_code, 200)
        self.assertEqual(self.client.get(url).status_code, 410)
        self.assertEqual(self.client.post(url, form_data(PHQ9_MILD)).status_code, 410)
        self.assertEqual(Response.objects.count(), 1)

    def test_an_expired_link_stores_nothing(self) -> None:
        invitation, raw = emailed_invitation(self)
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1),
            due_at=timezone.now() - timedelta(hours=1),
        )
        self.assertEqual(
            self.client.post(
                reverse("measures:link", args=[raw]), form_data(PHQ9_MILD)
            ).status_code,
            410,
        )
        self.assertFalse(Response.objects.exists())

    def test_an_unknown_token_reaches_nothing(self) -> None:
        invitation, _ = emailed_invitation(self)
        response = self.client.get(reverse("measures:link", args=["x" * 43]))
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, self.pat.first_name, status_code=404)
        invitation.refresh_from_db()
        self.assertIsNone(invitation.used_at)
        self.assertFalse(Response.objects.exists())

    def test_only_a_hash_of_the_token_is_stored(self) -> None:
        invitation, raw = emailed_invitation(self)
        invitation.refresh_from_db()
        self.assertNotIn(raw, str(Invitation.objects.filter(pk=invitation.pk).values().get()))

    def test_an_incomplete_form_names_each_missing_question_and_stores_nothing(self) -> None:
        invitation, raw = emailed_invitation(self)
        answers = form_data(PHQ9_MILD)
        del answers["q3"], answers["q7"]
        page = self.client.post(reverse("measures:link", args=[raw]), answers)
        self.assertEqual(page.status_code, 400)
        self.assertContains(page, "Please answer this question.", count=2, status_code=400)
        self.assertContains(page, 'id="err-q3"', status_code=400)
        self.assertFalse(Response.objects.exists())
        invitation.refresh_from_db()
        self.assertIsNone(invitation.used_at)

    def test_a_crisis_statement_in_free_text_raises_an_alert_for_review(self) -> None:
        _, raw = emailed_invitation(self)
        self.client.post(
            reverse("measures:link", args=[raw]),
            form_data(PHQ9_MILD) | {"comment": "Some days I want to die."},
        )
        self.assertEqual(SafetyAlert.objects.get().kind, "crisis_text")


class PortalAndKioskTest(ClinicTestCase):
    def test_patient_answers_in_the_portal_and_sees_crisis_resources(self) -> None:
        self.clinic.crisis_resources = "Call 988."
        self.clinic.save()
        invitation = services.invite(
            patient=self.pat, instrument_key="phq9", by=self.paula, request=None, channel="portal"
        )
        self.login(self.pat_user)
        self.assertContains(
            self.client.get(reverse("measures:my_home", args=[self.pat.pk])), "PHQ9"
        )
        page = self.client.post(
            reverse("measures:my_answer", args=[invitation.pk]), form_data(PHQ9_ITEM9)
        )
        self.assertContains(page, "Call 988.")
        self.assertEqual(Response.objects.get().source, "portal")
        self.assertContains(
            self.client.get(reverse("measures:my_home", args=[self.pat.pk])), "Call 988."
        )

    def test_a_patient_cannot_open_another_patients_questionnaire(self) -> None:
        invitation = services.invite(
            patient=self.pat, instrument_key="phq9", by=self.paula, request=None, channel="portal"
        )
        self.login(self.quinn_user)
        self.assertEqual(
            self.client.post(
                reverse("measures:my_answer", args=[invitation.pk]), form_data(PHQ9_MILD)
            ).status_code,
            404,
        )
        self.assertEqual(
            self.client.get(reverse("measures:my_home", args=[self.pat.pk])).status_code, 404
        )
        self.assertFalse(Response.objects.exists())

    def test_kiosk_shows_one_questionnaire_then_locks(self) -> None:
        self.login(self.nick)
        start = self.client.post(
            reverse("measures:kiosk_start", args=[self.pat.pk]), {"instrument": "phq9"}
        )
        self.assertRedirects(start, reverse("measures:kiosk"))
        self.assertEqual(
            self.client.get(reverse("patients:chart", args=[self.pat.pk])).status_code, 302
        )
        self.assertContains(self.client.get(reverse("measures:kiosk")), "PHQ-9")
        self.assertEqual(
            self.client.post(reverse("measures:kiosk"), form_data(PHQ9_MILD)).status_code, 200
        )
        self.assertEqual(Response.objects.get().source, "kiosk")
        self.assertRedirects(
            self.client.get(reverse("measures:kiosk")), reverse("measures:kiosk_locked")
        )
