"""Taking the dose, the post-session check-in, its alerts, and the missed check-in job."""

from datetime import timedelta
from typing import Any
from unittest import mock

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from katclinic.athome import services
from katclinic.athome.models import (
    AlertKind,
    HomeAlert,
    HomeSession,
    PostSessionCheckIn,
    SessionState,
)
from katclinic.athome.tests.factories import prescription, taken_session
from katclinic.surveillance.models import ReviewKind, ReviewTask
from katclinic.surveillance.sources import dose_events
from katclinic.testing import ClinicTestCase

CALM = {
    "worst_severity": "1",
    "side_effects": ["nausea"],
    "detached_score": "2",
    "unreal_score": "1",
    "still_dissociated": "no",
    "feels_safe": "yes",
    "systolic": "130",
    "diastolic": "84",
    "monitor_concerned": "no",
    "monitor_observation": "Quiet, resting, talked afterwards.",
}


class PostSessionTest(ClinicTestCase):
    def setUp(self) -> None:
        prescription(self.pat, self.paula)
        self.session = taken_session(self.pat)
        self.login(self.pat_user)

    def post(self, **changes: Any) -> Any:
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(
                reverse("athome:after", args=[self.pat.pk, self.session.pk]), {**CALM, **changes}
            )

    def test_a_calm_check_in_completes_the_session_without_alerts(self) -> None:
        self.assertEqual(self.post().status_code, 302)
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.CHECKED_OUT)
        post = PostSessionCheckIn.objects.get(session=self.session)
        self.assertEqual((post.systolic, post.side_effects, post.flags), (130, ["nausea"], []))
        self.assertFalse(HomeAlert.objects.exists())
        self.assertFalse(ReviewTask.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_a_severe_side_effect_raises_a_clinic_alert(self) -> None:
        self.post(worst_severity="3", side_effects=["vomiting"])
        alert = HomeAlert.objects.get(kind=AlertKind.SEVERE_SIDE_EFFECT)
        self.assertIn("vomiting", alert.reason)
        task = ReviewTask.objects.get()
        self.assertEqual(
            (task.kind, task.source_type, task.source_id),
            (ReviewKind.HOME_SESSION, "athome.HomeAlert", alert.pk),
        )
        self.assertEqual(len(mail.outbox), 1)

    def test_flagged_answers_raise_one_alert_naming_each(self) -> None:
        self.post(feels_safe="no", monitor_concerned="yes", unreal_score="4")
        alert = HomeAlert.objects.get()
        self.assertEqual(alert.kind, AlertKind.FLAGGED_ANSWER)
        for words in ("does not feel safe", "monitor was concerned", "4 of 4"):
            self.assertIn(words, alert.reason)

    def test_blood_pressure_is_required_when_the_protocol_asks(self) -> None:
        response = self.post(systolic="", diastolic="")
        self.assertEqual(response.status_code, 400)
        self.assertIn("systolic", response.context["form"].errors)
        self.assertFalse(PostSessionCheckIn.objects.exists())
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.TAKEN)

    def test_a_taken_dose_counts_toward_cumulative_exposure(self) -> None:
        events = [e for e in dose_events(self.pat) if e.setting == "home"]
        self.assertEqual(
            [(e.mg, e.route, e.source_id) for e in events], [(100, "sublingual", self.session.pk)]
        )


class MissedCheckInTest(ClinicTestCase):
    """The protocol gives 24 h for the check-in and the clinic 2 h of grace."""

    def setUp(self) -> None:
        prescription(self.pat, self.paula)
        self.session = taken_session(self.pat, hours_ago=0)
        assert self.session.taken_at is not None
        self.taken_at = self.session.taken_at

    def run_at(self, hours: float) -> int:
        at = self.taken_at + timedelta(hours=hours)
        with (
            mock.patch("django.utils.timezone.now", return_value=at),
            self.captureOnCommitCallbacks(execute=True),
        ):
            return services.mark_missed_checkins()

    def test_it_alerts_once_after_the_due_time_and_grace_have_passed(self) -> None:
        self.assertEqual(self.run_at(25.9), 0)
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.TAKEN)
        self.assertFalse(HomeAlert.objects.exists())
        self.assertEqual(self.run_at(26.1), 1)
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.MISSED)
        alert = HomeAlert.objects.get()
        self.assertEqual(alert.kind, AlertKind.CHECKIN_MISSED)
        self.assertEqual(self.run_at(30), 0)
        self.assertEqual(HomeAlert.objects.count(), 1)
        self.assertEqual(len(mail.outbox), 1)

    def test_a_late_check_in_is_still_recorded(self) -> None:
        self.run_at(27)
        with mock.patch(
            "django.utils.timezone.now", return_value=self.taken_at + timedelta(hours=28)
        ):
            self.login(self.pat_user)
            response = self.client.post(
                reverse("athome:after", args=[self.pat.pk, self.session.pk]), CALM
            )
        self.assertEqual(response.status_code, 302)
        self.session.refresh_from_db()
        self.assertEqual(self.session.state, SessionState.CHECKED_OUT)

    def test_a_completed_session_is_never_marked_missed(self) -> None:
        HomeSession.objects.filter(pk=self.session.pk).update(
            state=SessionState.CHECKED_OUT, ended_at=timezone.now()
        )
        self.assertEqual(self.run_at(48), 0)
        self.assertFalse(HomeAlert.objects.exists())


class AlertHandlingTest(ClinicTestCase):
    def setUp(self) -> None:
        prescription(self.pat, self.paula)
        session = taken_session(self.pat)
        self.alert, _ = services.raise_alert(
            session=session, kind=AlertKind.FLAGGED_ANSWER, reason="test"
        )
        self.login(self.nick)

    def test_a_nurse_acknowledges_then_closes_with_a_note(self) -> None:
        self.client.post(reverse("athome:alert_ack", args=[self.alert.pk]))
        self.alert.refresh_from_db()
        self.assertEqual(
            (self.alert.state, self.alert.acknowledged_by), ("acknowledged", self.nick)
        )
        self.client.post(
            reverse("athome:alert_close", args=[self.alert.pk]), {"note": "Called; feeling fine."}
        )
        self.alert.refresh_from_db()
        self.assertEqual(
            (self.alert.state, self.alert.closed_by, self.alert.note),
            ("closed", self.nick, "Called; feeling fine."),
        )

    def test_closing_without_a_note_changes_nothing(self) -> None:
        response = self.client.post(
            reverse("athome:alert_close", args=[self.alert.pk]), {"note": " "}, follow=True
        )
        self.assertContains(response, "note: Say what was done")
        self.alert.refresh_from_db()
        self.assertEqual(self.alert.state, "open")

    def test_the_worklist_shows_the_alert_and_the_session(self) -> None:
        response = self.client.get("/today/")
        self.assertContains(response, "At-home sessions")
        self.assertContains(response, "Flagged post-session answer")
        self.assertContains(response, "at-home session taken")
