"""An in-session alert that says to stop dosing or to notify the prescriber reaches the
prescriber (symptom: their Today page never showed it and nothing was sent), and an urgent
public consultation request reaches clinicians, not only the front desk's inbox."""

from django.core import mail
from django.utils import timezone

from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.tests import factories as f
from katclinic.intake.tests.test_requests import submit
from katclinic.testing import ClinicTestCase


class PrescriberAlertTest(ClinicTestCase):
    def reading(self, **values: int) -> list:
        f.stock(self.clinic, self.nick)
        session = f.ready_to_dose(self.pat, self.paula, self.nick)
        mail.outbox.clear()
        with self.captureOnCommitCallbacks(execute=True):
            _, alerts = mon.record_checkpoint(
                session=session,
                label="about 40 minutes",
                taken_at=timezone.now(),
                values=values,
                by=self.nick,
            )
        self.session = session
        return alerts

    def test_a_stop_alert_emails_the_plans_prescriber_without_health_details(self) -> None:
        (alert,) = self.reading(systolic=190, diastolic=95, heart_rate=80, spo2=97)
        self.assertEqual(alert.level, "stop")
        (message,) = mail.outbox
        self.assertEqual(message.to, ["paula@example.org"])
        self.assertIn(f"/dosing/{self.session.pk}/", message.body)
        for private in ("Pat", "Doe", "190"):
            self.assertNotIn(private, f"{message.subject} {message.body}")

    def test_it_stays_on_the_prescribers_today_page_until_acknowledged(self) -> None:
        (alert,) = self.reading(systolic=190, diastolic=95, heart_rate=80, spo2=97)
        self.login(self.paula)
        self.assertContains(self.client.get("/today/"), "Dosing sessions that need the prescriber")
        self.assertContains(self.client.get("/today/"), "systolic 190")
        mon.acknowledge_alert(alert=alert, note="Infusion halted; seen.", by=self.paula)
        self.assertNotContains(self.client.get("/today/"), "systolic 190")

    def test_a_recheck_alone_does_not_call_the_prescriber(self) -> None:
        (alert,) = self.reading(systolic=165, diastolic=85, heart_rate=80, spo2=97)
        self.assertEqual(alert.level, "recheck")
        self.assertEqual(mail.outbox, [])

    def test_a_nurse_has_no_prescriber_section(self) -> None:
        self.reading(systolic=190, diastolic=95, heart_rate=80, spo2=97)
        self.login(self.nick)
        self.assertNotContains(self.client.get("/today/"), "need the prescriber")


class UrgentPublicRequestTest(ClinicTestCase):
    def test_an_urgent_request_emails_the_prescribers_too(self) -> None:
        mail.outbox.clear()
        with self.captureOnCommitCallbacks(execute=True):
            submit(self.clinic, "Uma Urgent", item9=2)
        (urgent,) = [m for m in mail.outbox if "urgent" in m.subject]
        self.assertIn("paula@example.org", urgent.to)
        self.assertNotIn("Uma", urgent.body)

    def test_a_request_that_is_not_urgent_emails_no_one(self) -> None:
        mail.outbox.clear()
        with self.captureOnCommitCallbacks(execute=True):
            submit(self.clinic, "Nora Normal", item9=0)
        self.assertEqual([m for m in mail.outbox if "urgent" in m.subject], [])
