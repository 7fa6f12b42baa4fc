"""A restored copy holds queued reminders until an operator releases them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.core import outgoing
from katclinic.core.models import OutgoingHold
from katclinic.scheduling.models import Appointment, Channel, Kind, Reminder, ReminderState
from katclinic.scheduling.reminders import send_due
from katclinic.testing import ClinicTestCase


class OutgoingHoldTest(ClinicTestCase):
    def queued_reminder(self) -> Reminder:
        now = timezone.now()
        self.pat.email = "pat@example.org"
        self.pat.save(update_fields=["email"])
        appointment = Appointment.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            kind=Kind.CONSULTATION,
            created_by=self.alice,
            staff=self.paula,
            start=now + timedelta(days=1),
            end=now + timedelta(days=1, hours=1),
        )
        return Reminder.objects.create(
            clinic=self.clinic,
            appointment=appointment,
            channel=Channel.EMAIL,
            send_at=now - timedelta(minutes=5),
            next_attempt_at=now - timedelta(minutes=5),
        )

    def test_held_reminders_stay_queued_until_released(self) -> None:
        reminder = self.queued_reminder()
        outgoing.hold(reason="restored from backup test")
        self.assertEqual(send_due(), 0)
        reminder.refresh_from_db()
        self.assertEqual(reminder.state, ReminderState.PENDING)
        self.assertEqual(len(mail.outbox), 0)

        out = StringIO()
        call_command("release_outgoing", "--by", "operator", stdout=out)
        self.assertIn("released", out.getvalue())
        self.assertFalse(outgoing.is_held())
        self.assertEqual(send_due(), 1)
        reminder.refresh_from_db()
        self.assertEqual(reminder.state, ReminderState.SENT)
        self.assertEqual(len(mail.outbox), 1)

    def test_hold_and_release_are_audited(self) -> None:
        before = AuditEvent.objects.count()
        outgoing.hold(reason="drill")
        outgoing.release(by="operator")
        events = AuditEvent.objects.order_by("pk")[before:]
        self.assertEqual([e.detail["held"] for e in events], [True, False])
        self.assertEqual(OutgoingHold.objects.get().released_by, "operator")

    def test_release_with_nothing_held_says_so(self) -> None:
        out = StringIO()
        call_command("release_outgoing", stdout=out)
        self.assertIn("nothing was held", out.getvalue())
        call_command("release_outgoing", "--status", stdout=out)
        self.assertIn("not held", out.getvalue())
