"""The nurse's session page runs a fixed set of statements, however many readings and alerts
the session has: every list is read once in the view, none from inside the template."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.models import DosingSession, InSessionAlert
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

# Session, user, roles; the session with its patient, plan, clinic and REMS form; the audit
# event; readings, doses, alerts; the grace setting; the signed plan version; events, gate,
# allergies, medications, safety alerts, side effects, readiness assessments, notes; the
# clinic's settings for the limits the vitals chart draws.
SESSION_PAGE_STATEMENTS = 19

NORMAL = {"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "moaas": 5}
HIGH = {"systolic": 200, "diastolic": 118, "heart_rate": 74, "spo2": 98, "moaas": 5}
# Above the default recheck limit (systolic 160) and below the others.
RECHECK = {"systolic": 165, "diastolic": 90, "heart_rate": 74, "spo2": 98, "moaas": 5}


class SessionPageStatementsTest(ClinicTestCase):
    def setUp(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        self.sess = f.ready_to_dose(
            self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55)
        )
        services.record_administration(
            session=self.sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=50),
            by=self.nick,
        )
        services.finish_dosing(session=self.sess, by=self.nick)
        self.url = reverse("dosing:session", args=[self.sess.pk])
        self.login(self.nick)

    def readings(self, count: int, values: dict[str, int]) -> None:
        for n in range(count):
            mon.record_checkpoint(
                session=DosingSession.objects.get(pk=self.sess.pk),
                label="extra reading",
                taken_at=timezone.now() - timedelta(minutes=40) + timedelta(minutes=n),
                by=self.nick,
                values=values,
            )

    def test_the_page_runs_the_same_statements_with_twenty_readings_and_their_alerts(self) -> None:
        self.readings(2, NORMAL)
        self.client.get(self.url)  # per-process caches (parsed protocol, links) warm up
        with self.assertNumQueries(SESSION_PAGE_STATEMENTS):
            self.assertEqual(self.client.get(self.url).status_code, 200)
        self.readings(16, NORMAL)
        self.readings(2, HIGH)
        self.assertTrue(InSessionAlert.objects.filter(session=self.sess).exists())
        with self.assertNumQueries(SESSION_PAGE_STATEMENTS):
            page = self.client.get(self.url)
        self.assertContains(page, 'class="out-of-range"')
        self.assertContains(page, "200/118")

    def test_the_rechecks_worked_out_from_the_page_rows_are_the_pending_rechecks(self) -> None:
        self.readings(2, RECHECK)
        sess = DosingSession.objects.get(pk=self.sess.pk)
        alerts = list(sess.alerts.all())
        pending = mon.pending_rechecks(sess)
        self.assertEqual(mon.rechecks_pending_in(alerts, sess.checkpoints.all()), pending)
        self.assertTrue(pending, "a reading above the recheck limit asks for one")
        recheck = pending[0]
        mon.record_checkpoint(
            session=sess,
            label="recheck",
            taken_at=timezone.now(),
            by=self.nick,
            values=NORMAL,
            recheck_of=recheck,
        )
        after = mon.rechecks_pending_in(list(sess.alerts.all()), sess.checkpoints.all())
        self.assertNotIn(recheck, after)
        self.assertEqual(after, mon.pending_rechecks(sess))
