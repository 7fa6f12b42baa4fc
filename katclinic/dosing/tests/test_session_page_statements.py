"""The nurse's session page runs a fixed set of statements, however many readings and alerts
the session has: every list is read once in the view, none from inside the template."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services, views
from katclinic.dosing.models import DosingSession, InSessionAlert
from katclinic.dosing.tests import factories as f
from katclinic.patients.models import Allergy
from katclinic.testing import ClinicTestCase

# Session, user, roles; the session with its patient, plan, clinic and REMS form; the audit
# event; readings, doses, alerts; the clinic's settings (the checkpoint grace and the limits
# the vitals chart draws); the signed plan version; events, gate, allergies, medications,
# safety alerts, side effects, readiness assessments, notes.
SESSION_PAGE_STATEMENTS = 18

NORMAL = {"systolic": 126, "diastolic": 80, "heart_rate": 74, "spo2": 98, "moaas": 5}
HIGH = {"systolic": 200, "diastolic": 118, "heart_rate": 74, "spo2": 98, "moaas": 5}
# Above the default recheck limit (systolic 160) and below the others.
RECHECK = {"systolic": 165, "diastolic": 90, "heart_rate": 74, "spo2": 98, "moaas": 5}


def _values(rows: list[Any]) -> list[dict[str, Any]]:
    return [{f.attname: getattr(r, f.attname) for f in type(r)._meta.concrete_fields} for r in rows]


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

    def test_the_pages_compiled_lists_are_the_related_managers_rows(self) -> None:
        # Each list the page reads through katclinic.lib.rows.Compiled, in its order, with
        # the same joined rows.
        self.readings(3, HIGH)
        mon.record_side_effect(
            session=self.sess, data={"kind": "nausea", "severity": "mild"}, by=self.nick
        )
        Allergy.objects.create(
            clinic=self.clinic, patient=self.pat, recorded_by=self.nick, substance="Latex"
        )
        Allergy.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.nick,
            substance="Penicillin",
            is_active=False,
        )
        sess = DosingSession.objects.get(pk=self.sess.pk)
        patient = sess.patient
        expected: dict[str, tuple[list[Any], Any]] = {
            "readings": (views._READINGS(session=sess.pk), sess.checkpoints.all()),
            "doses": (
                views._DOSES(session=sess.pk),
                sess.administrations.select_related("given_by"),
            ),
            "alerts": (
                views._ALERTS(session=sess.pk),
                sess.alerts.select_related("acknowledged_by"),
            ),
            "events": (views._EVENTS(session=sess.pk), sess.events.select_related("by")),
            "side effects": (views._SIDE_EFFECTS(session=sess.pk), sess.side_effects.all()),
            "assessments": (
                views._ASSESSMENTS(session=sess.pk),
                sess.discharge_assessments.all(),
            ),
            "notes": (views._NOTES(session=sess.pk), sess.support_notes.select_related("author")),
            "allergies": (
                views._ALLERGIES(patient=patient.pk),
                patient.allergies.filter(is_active=True),
            ),
            "medications": (
                views._MEDICATIONS(patient=patient.pk),
                patient.medications.filter(is_active=True),
            ),
        }
        for name, (found, orm) in expected.items():
            with self.subTest(name):
                self.assertEqual(_values(found), _values(list(orm)))
        self.assertEqual([a.substance for a in expected["allergies"][0]], ["Latex"])
        self.assertTrue(expected["alerts"][0] and expected["events"][0])
        self.assertTrue(expected["doses"][0] and expected["side effects"][0])
        with self.assertNumQueries(0):
            self.assertEqual(
                [a.given_by.full_name for a in expected["doses"][0]],
                [a.given_by.full_name for a in expected["doses"][1]],
            )
            self.assertEqual(
                [e.by.full_name for e in expected["events"][0]],
                [e.by.full_name for e in expected["events"][1]],
            )
        gate = list(sess.gate_checks.select_related("overridden_by").order_by("-evaluation", "pk"))
        newest = [c for c in gate if c.evaluation == gate[0].evaluation]
        self.assertEqual(_values(services.latest_gate(sess)), _values(newest))
        self.assertTrue(newest)
