from datetime import timedelta
from unittest import mock

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.models import ClinicSetting
from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling import reminders, services, sms
from katclinic.scheduling.models import Reminder
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


class ReminderTest(ClinicTestCase):
    def setUp(self) -> None:
        self.chair = fixtures.chairs(self)[0]
        self.pat.email = "pat@example.org"
        self.pat.save(update_fields=["email"])
        plan = plan_fixtures.signed(self, "esketamine_trd").plan
        start = fixtures.at(self, 0, 9)
        self.appointment = services.book(
            patient=self.pat,
            kind="dosing",
            plan=plan,
            by=self.alice,
            slot=services.Slot(self.nick, start, start + timedelta(hours=3), None, self.chair),
        )
        mail.outbox.clear()  # signing the plan emailed its baseline questionnaires

    def test_reminders_are_created_at_the_clinic_offsets(self) -> None:
        offsets = sorted(
            self.appointment.start - r.send_at for r in self.appointment.reminders.all()
        )
        self.assertEqual(offsets, [timedelta(hours=2), timedelta(hours=48)])

    def test_a_due_reminder_is_emailed_with_the_protocol_instructions(self) -> None:
        sent = reminders.send_due(now=self.appointment.start - timedelta(hours=47))
        self.assertEqual(sent, 1)
        self.assertEqual(len(mail.outbox), 1)
        body = mail.outbox[0].body
        self.assertIn("Do not eat for 2 hours", body)
        self.assertIn("Do not drink anything for 30 minutes", body)
        self.assertIn("Arrange a ride home", body)
        self.assertIn("Do not drive until the next day, after a night's sleep", body)
        self.assertEqual(Reminder.objects.filter(state="sent").count(), 1)
        self.assertEqual(reminders.send_due(now=self.appointment.start - timedelta(hours=47)), 0)

    def test_a_failed_send_is_retried_with_backoff_then_succeeds(self) -> None:
        moment = self.appointment.start - timedelta(hours=47)
        with mock.patch(
            "katclinic.scheduling.reminders.send_mail", side_effect=OSError("SMTP down")
        ):
            self.assertEqual(reminders.send_due(now=moment), 0)
        reminder = Reminder.objects.get(attempts=1)
        self.assertEqual((reminder.state, reminder.last_error), ("pending", "OSError: SMTP down"))
        self.assertEqual(reminder.next_attempt_at, moment + timedelta(minutes=5))
        self.assertEqual(reminders.send_due(now=moment + timedelta(minutes=1)), 0)
        self.assertEqual(reminders.send_due(now=moment + timedelta(minutes=6)), 1)
        self.assertEqual(len(mail.outbox), 1)

    def test_after_the_last_attempt_front_desk_sees_the_failure(self) -> None:
        moment = self.appointment.start - timedelta(hours=47)
        with mock.patch(
            "katclinic.scheduling.reminders.send_mail", side_effect=OSError("SMTP down")
        ):
            for attempt in range(4):
                reminders.send_due(now=moment + timedelta(hours=attempt))
        self.assertEqual(Reminder.objects.get(attempts=4).state, "failed")
        self.login(self.alice)
        page = self.client.get(reverse("scheduling:failed_reminders"))
        self.assertContains(page, "SMTP down")
        self.assertContains(page, "Pat Doe")

    def test_the_periodic_task_sends_due_reminders(self) -> None:
        Reminder.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))
        reminders.send_due_reminders.enqueue()
        self.assertEqual(len(mail.outbox), 2)

    def test_sms_goes_through_the_console_backend_when_enabled(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="scheduling_reminder_sms", value=True, changed_by=self.adam
        )
        sms.ConsoleSmsBackend.outbox.clear()
        start = fixtures.at(self, 1, 9)
        booked = services.book(
            patient=self.pat,
            kind="consultation",
            by=self.alice,
            slot=services.Slot(self.paula, start, start + timedelta(hours=1)),
        )
        reminders.send_due(now=booked.start - timedelta(hours=47))
        self.assertEqual([m.to for m in sms.ConsoleSmsBackend.outbox], ["555-0101"])

    def test_cancelling_stops_pending_reminders(self) -> None:
        services.set_state(
            appointment=self.appointment, state="cancelled", reason="Unwell", by=self.alice
        )
        self.assertEqual(reminders.send_due(now=self.appointment.start - timedelta(hours=1)), 0)
        self.assertEqual(mail.outbox, [])
