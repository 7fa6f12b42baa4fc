"""Schedules relative to treatment: around sessions, weekly, monthly, sent and reminded."""

from datetime import UTC, datetime, timedelta
from unittest import mock

from django.core import mail

from katclinic.measures import schedules, services
from katclinic.measures.models import Invitation, Rule
from katclinic.testing import ClinicTestCase

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SESSION = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


class ScheduleTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.pat.email = "pat@example.org"
        cls.pat.stage = "induction"
        cls.pat.save()

    def schedule(self, *rules: str) -> None:
        services.set_schedule(
            patient=self.pat, instrument_key="phq9", rules=list(rules), by=self.paula, request=None
        )

    def test_invitations_are_made_before_and_after_a_session(self) -> None:
        self.schedule(Rule.PRE_SESSION, Rule.POST_24H, Rule.POST_7D)
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            made = services.schedule_around_session(
                patient=self.pat, session_start=SESSION, by=self.nick
            )
        due = sorted((i.due_at, i.expires_at) for i in made)
        self.assertEqual(due[0], (SESSION - timedelta(hours=24), SESSION))
        self.assertEqual(due[1][0], SESSION + timedelta(hours=24))
        self.assertEqual(
            due[2], (SESSION + timedelta(days=7), SESSION + timedelta(days=7, hours=72))
        )

    def test_scheduling_the_same_session_twice_creates_nothing_new(self) -> None:
        self.schedule(Rule.POST_24H)
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            services.schedule_around_session(patient=self.pat, session_start=SESSION, by=self.nick)
            again = services.schedule_around_session(
                patient=self.pat, session_start=SESSION, by=self.nick
            )
        self.assertEqual((again, Invitation.objects.count()), ([], 1))

    def test_a_naive_session_time_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            services.schedule_around_session(
                patient=self.pat,
                session_start=datetime(2026, 3, 5, 15, 0),  # noqa: DTZ001 - the point of the test
                by=None,
            )

    def test_baseline_is_sent_when_the_schedule_is_made(self) -> None:
        self.schedule(Rule.BASELINE)
        self.assertEqual(Invitation.objects.get().purpose, "At baseline")
        self.assertEqual(len(mail.outbox), 1)

    def test_due_invitations_are_emailed_once_and_reminded_once(self) -> None:
        self.schedule(Rule.POST_24H)
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            services.schedule_around_session(patient=self.pat, session_start=SESSION, by=self.nick)
        due = SESSION + timedelta(hours=24)
        self.assertEqual(schedules.run_schedules(due - timedelta(minutes=1))["sent"], 0)
        self.assertEqual(schedules.run_schedules(due)["sent"], 1)
        self.assertEqual(schedules.run_schedules(due + timedelta(minutes=5))["sent"], 0)
        self.assertEqual(schedules.run_schedules(due + timedelta(hours=24))["reminded"], 1)
        self.assertEqual(schedules.run_schedules(due + timedelta(hours=30))["reminded"], 0)
        self.assertEqual(len(mail.outbox), 2)
        self.assertIn("/measures/q/", mail.outbox[0].body)

    def test_weekly_during_induction_only(self) -> None:
        self.schedule(Rule.WEEKLY_INDUCTION)
        self.assertEqual(schedules.run_schedules(NOW)["created"], 1)
        self.assertEqual(schedules.run_schedules(NOW + timedelta(days=6))["created"], 0)
        self.assertEqual(schedules.run_schedules(NOW + timedelta(days=7))["created"], 1)
        self.pat.stage = "maintenance"
        self.pat.save()
        self.assertEqual(schedules.run_schedules(NOW + timedelta(days=14))["created"], 0)

    def test_monthly_in_maintenance(self) -> None:
        self.pat.stage = "maintenance"
        self.pat.save()
        self.schedule(Rule.MONTHLY_MAINTENANCE)
        self.assertEqual(schedules.run_schedules(NOW)["created"], 1)
        self.assertEqual(schedules.run_schedules(NOW + timedelta(days=27))["created"], 0)
        self.assertEqual(schedules.run_schedules(NOW + timedelta(days=28))["created"], 1)


# A real SMTP backend pointed at a port where nothing listens: the mail server is down.
MAIL_SERVER_DOWN = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
    }
}


class MailOutageTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.pat.email = "pat@example.org"
        cls.pat.save(update_fields=["email"])

    def test_an_invitation_is_kept_unsent_when_the_mail_server_is_down_and_sent_later(
        self,
    ) -> None:
        with self.settings(MAILERS=MAIL_SERVER_DOWN):
            invitation = services.invite(
                patient=self.pat, instrument_key="phq9", by=self.paula, request=None
            )
            self.assertIsNone(invitation.sent_at)
            self.assertEqual(schedules.send_due(invitation.due_at)[0], 0)

        sent, _ = schedules.send_due(invitation.due_at)

        invitation.refresh_from_db()
        self.assertEqual(sent, 1)
        self.assertIsNotNone(invitation.sent_at)
        self.assertEqual(len(mail.outbox), 1)
