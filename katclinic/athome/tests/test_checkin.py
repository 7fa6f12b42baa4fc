"""The at-home check-in gate through the portal: each failed item blocks and notifies."""

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from katclinic.athome.models import AlertKind, CheckIn, HomeAlert, HomeSession, SessionState
from katclinic.athome.tests.factories import prescription
from katclinic.testing import ClinicTestCase

GOOD = {
    "systolic": "128",
    "diastolic": "82",
    "monitor_present": "yes",
    "monitor_name": "Robin",
    "substances_taken": "no",
    "will_not_drive": "yes",
    "safe_setting": "yes",
}


class CheckInTest(ClinicTestCase):
    def setUp(self) -> None:
        self.rx = prescription(self.pat, self.paula)
        self.login(self.pat_user)

    def begin(self) -> HomeSession:
        response = self.client.post(reverse("athome:start", args=[self.pat.pk]))
        self.assertEqual(response.status_code, 302)
        return HomeSession.objects.get(patient=self.pat, state=SessionState.CHECKING_IN)

    def check_in(self, session: HomeSession, **changes: str) -> object:
        data = {**GOOD, **changes}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("athome:checkin", args=[self.pat.pk, session.pk]), data)

    def test_a_high_blood_pressure_blocks_the_session_tells_the_patient_and_emails_the_clinic(
        self,
    ) -> None:
        session = self.begin()
        response = self.check_in(session, systolic="152", diastolic="96")
        self.assertEqual(response.status_code, 302)  # type: ignore[attr-defined]
        session.refresh_from_db()
        self.assertEqual(session.state, SessionState.BLOCKED)
        checkin = CheckIn.objects.get(session=session)
        self.assertFalse(checkin.passed)
        self.assertEqual([i["key"] for i in checkin.failed_items], ["home_bp"])
        alert = HomeAlert.objects.get(session=session)
        self.assertEqual(alert.kind, AlertKind.CHECKIN_BLOCKED)
        self.assertIn("152/96", alert.reason)
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("paula@example.org", mail.outbox[0].to)
        self.assertNotIn("Pat", mail.outbox[0].body)
        page = self.client.get(reverse("athome:my_session", args=[self.pat.pk, session.pk]))
        self.assertContains(page, "Do not take a dose now")
        self.assertContains(page, "152/96 mmHg is above your limit of 140/90")
        refused = self.client.post(reverse("athome:taken", args=[self.pat.pk, session.pk]))
        self.assertEqual(refused.status_code, 302)
        session.refresh_from_db()
        self.assertIsNone(session.taken_at)

    def test_each_failed_item_blocks_and_raises_an_alert(self) -> None:
        cases = {
            "sober_monitor": {"monitor_present": "no"},
            "no_substances": {"substances_taken": "yes"},
            "no_driving": {"will_not_drive": "no"},
            "safe_setting": {"safe_setting": "no"},
        }
        for key, change in cases.items():
            with self.subTest(item=key):
                session = self.begin()
                self.check_in(session, **change)
                session.refresh_from_db()
                self.assertEqual(session.state, SessionState.BLOCKED)
                self.assertEqual([i["key"] for i in session.checkins.get().failed_items], [key])
                self.assertTrue(
                    HomeAlert.objects.filter(
                        session=session, kind=AlertKind.CHECKIN_BLOCKED
                    ).exists()
                )
        self.assertEqual(len(mail.outbox), len(cases))

    def test_attempts_are_kept_a_blocked_one_and_then_a_passing_one(self) -> None:
        first = self.begin()
        self.check_in(first, systolic="150")
        second = self.begin()
        self.assertNotEqual(first.pk, second.pk)
        self.check_in(second)
        second.refresh_from_db()
        self.assertEqual(second.state, SessionState.OPEN)
        self.assertEqual(CheckIn.objects.filter(session__patient=self.pat).count(), 2)
        self.assertFalse(CheckIn.objects.get(session=first).passed)
        self.assertEqual(HomeAlert.objects.filter(patient=self.pat).count(), 1)

    def test_an_unanswered_question_is_named_and_nothing_is_stored(self) -> None:
        session = self.begin()
        data = {k: v for k, v in GOOD.items() if k != "safe_setting"}
        response = self.client.post(reverse("athome:checkin", args=[self.pat.pk, session.pk]), data)
        self.assertEqual(response.status_code, 400)
        self.assertIn("safe_setting", response.context["form"].errors)
        self.assertFalse(CheckIn.objects.exists())
        session.refresh_from_db()
        self.assertEqual(session.state, SessionState.CHECKING_IN)

    def test_no_session_starts_without_lozenges_on_hand(self) -> None:
        self.rx.dispenses.all().delete()
        response = self.client.post(reverse("athome:start", args=[self.pat.pk]), follow=True)
        self.assertContains(response, "no lozenges left")
        self.assertFalse(HomeSession.objects.exists())

    def test_the_plans_spacing_holds_the_next_session(self) -> None:
        session = self.begin()
        self.check_in(session)
        self.client.post(reverse("athome:taken", args=[self.pat.pk, session.pk]))
        response = self.client.post(reverse("athome:start", args=[self.pat.pk]), follow=True)
        self.assertContains(response, "Your plan spaces doses, counting")
        self.assertEqual(HomeSession.objects.count(), 1)


class ExpiryTest(ClinicTestCase):
    def setUp(self) -> None:
        prescription(self.pat, self.paula)
        self.login(self.pat_user)
        self.client.post(reverse("athome:start", args=[self.pat.pk]))
        self.session = HomeSession.objects.get()
        self.client.post(reverse("athome:checkin", args=[self.pat.pk, self.session.pk]), GOOD)
        HomeSession.objects.filter(pk=self.session.pk).update(
            opened_at=timezone.now() - timedelta(minutes=61)
        )

    def test_a_check_in_older_than_the_clinic_allows_cannot_open_the_dose(self) -> None:
        response = self.client.post(
            reverse("athome:taken", args=[self.pat.pk, self.session.pk]), follow=True
        )
        self.assertContains(response, "Check-in expired")
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.EXPIRED)
        self.assertIsNone(self.session.taken_at)

    def test_beginning_again_starts_a_fresh_check_in(self) -> None:
        self.client.post(reverse("athome:start", args=[self.pat.pk]))
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.EXPIRED)
        self.assertTrue(HomeSession.objects.filter(state=SessionState.CHECKING_IN).exists())
