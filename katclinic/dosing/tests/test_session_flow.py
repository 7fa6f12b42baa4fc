"""A nurse runs an esketamine session from check-in to discharge, on a frozen clock."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from katclinic.dosing import ledger_services, record_services, services
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.doses import administered_doses
from katclinic.dosing.models import Administration, DosingSession, LedgerEntry, StockLot
from katclinic.dosing.services import DosingError
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

ALL_MET = dict.fromkeys(
    (
        "dissociation_resolved",
        "respiratory_depression_resolved",
        "vitals_acceptable",
        "escort_present",
    ),
    True,
)
NORMAL = {"systolic": 132, "diastolic": 84, "heart_rate": 74, "spo2": 98}


class SessionFlowTest(ClinicTestCase):
    def setUp(self) -> None:
        self.start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=4)
        self.now = self.start

    @contextmanager
    def frozen(self) -> Iterator[None]:
        with mock.patch("django.utils.timezone.now", side_effect=lambda: self.now):
            yield

    def at(self, minutes: int) -> datetime:
        self.now = self.start + timedelta(minutes=minutes)
        return self.now

    def dosing(self) -> tuple[DosingSession, StockLot]:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        return sess, lot

    def give(
        self, sess: DosingSession, lot: StockLot, minute: int, mg: str = "28"
    ) -> Administration:
        return services.record_administration(
            session=sess, lot=lot, dose_mg=Decimal(mg), started_at=self.at(minute), by=self.nick
        )

    def reading(self, sess: DosingSession, minute: int, label: str, **values: int) -> list:
        _, alerts = mon.record_checkpoint(
            session=sess,
            label=label,
            taken_at=self.at(minute),
            values=values,
            by=self.nick,
            recheck_of=values.pop("recheck", None),  # type: ignore[arg-type]
        )
        return alerts

    def test_a_nurse_runs_an_esketamine_session_from_check_in_to_discharge(self) -> None:
        with self.frozen():
            sess, lot = self.dosing()
            self.give(sess, lot, 0)
            with self.assertRaisesMessage(DosingError, "at least 5 minutes apart"):
                self.give(sess, lot, 3)
            self.give(sess, lot, 5)
            services.finish_dosing(session=sess, by=self.nick)

            alerts = self.reading(
                sess,
                40,
                "about 40 minutes",
                systolic=165,
                diastolic=100,
                heart_rate=88,
                spo2=97,
                moaas=4,
                cadss6=5,
            )
            self.assertEqual([(a.measure, a.level) for a in alerts], [("systolic", "recheck")])
            self.assertEqual(alerts[0].recheck_due_at, self.start + timedelta(minutes=45))
            self.assertIn("Recheck systolic blood pressure in 5 minutes", alerts[0].action)
            self.assertEqual(mon.pending_rechecks(sess), alerts)
            self.assertFalse(
                self.reading(sess, 45, "recheck", systolic=148, diastolic=90, recheck=alerts[0])
            )
            self.assertEqual(mon.pending_rechecks(sess), [])
            mon.acknowledge_alert(alert=alerts[0], note="Rechecked at 45 min: 148/90", by=self.nick)

            self.reading(sess, 100, "check", moaas=5, **NORMAL)
            early = mon.assess_discharge(session=sess, judged=ALL_MET, by=self.nick)
            self.assertFalse(early.allowed)
            self.assertEqual(early.unmet, ["Observation time not met: 100 of 120 minutes."])
            with self.assertRaisesMessage(DosingError, "Assess readiness"):
                mon.discharge(session=sess, by=self.nick)

            self.reading(sess, 121, "completion", moaas=5, **NORMAL)
            self.assertTrue(
                mon.assess_discharge(session=sess, judged=ALL_MET, by=self.nick).allowed
            )
            mon.discharge(session=sess, by=self.nick)

        sess.refresh_from_db()
        self.assertEqual(sess.state, S.DISCHARGED)
        self.assertEqual(sess.clinically_ready_at, self.start + timedelta(minutes=100))
        self.assertEqual(ledger_services.balance(lot), Decimal("224"))
        self.assertEqual(LedgerEntry.objects.filter(lot=lot, kind="administration").count(), 2)

        form = sess.rems_form
        self.assertEqual(record_services.form_missing(form), ["non_benzo_hypnotics"])
        with self.assertRaisesMessage(DosingError, "missing Non-benzodiazepine sleep medicines"):
            record_services.complete_rems_form(form=form, by=self.nick)
        record_services.update_rems_form(
            form=form, values={"non_benzo_hypnotics": False}, by=self.nick
        )
        record_services.complete_rems_form(form=form, by=self.nick)
        form.refresh_from_db()
        self.assertIsNotNone(form.completed_at)
        self.assertEqual(
            (
                form.data["dose"],
                form.data["bp_40_min"],
                form.data["total_monitoring_minutes"],
                form.data["minutes_ready_without_2h_rule"],
            ),
            ("56", "165/100", 121, 100),
        )
        pdf = record_services.rems_pdf(form=form, by=self.nick)
        for text in (b"Pat Doe", b"56 mg", b"165/100", b"LOT-A", b"121", b"Submit by"):
            self.assertIn(text, pdf)
        self.assertNotIn(b"MISSING", pdf)

    def test_a_dose_beyond_the_plan_maximum_is_refused(self) -> None:
        with self.frozen():
            sess, lot = self.dosing()
            for minute in (0, 5, 10):
                self.give(sess, lot, minute)
            with self.assertRaisesMessage(DosingError, "exceed the plan's maximum of 84"):
                self.give(sess, lot, 15)
        self.assertEqual(sess.administrations.count(), 3)
        self.assertEqual(ledger_services.balance(lot), Decimal("196"))

    def test_a_device_of_the_wrong_size_is_refused(self) -> None:
        with self.frozen():
            sess, lot = self.dosing()
            with self.assertRaisesMessage(DosingError, "record each device separately"):
                self.give(sess, lot, 0, mg="56")
        self.assertFalse(sess.administrations.exists())

    def test_an_iv_dose_below_the_plan_minimum_is_refused(self) -> None:
        lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd", mg="1000", lot="IV-1")
        sess = f.ready_to_dose(
            self.pat,
            self.paula,
            self.nick,
            key="iv_ketamine_elektd",
            dose="35",
            low="30",
            high="40",
        )
        with self.assertRaisesMessage(DosingError, "below the plan's minimum of 30"):
            services.record_administration(
                session=sess,
                lot=lot,
                dose_mg=Decimal("20"),
                started_at=timezone.now(),
                by=self.nick,
            )
        given = services.record_administration(
            session=sess, lot=lot, dose_mg=Decimal("35"), started_at=timezone.now(), by=self.nick
        )
        self.assertEqual(given.dose_mg_per_kg, Decimal("0.500"))
        kinds = list(
            LedgerEntry.objects.filter(administration=given).values_list("kind", flat=True)
        )
        self.assertEqual(kinds, ["draw", "administration"])
        self.assertEqual(ledger_services.balance(lot), Decimal("965"))

    def test_an_expired_lot_is_refused(self) -> None:
        lot = f.stock(self.clinic, self.nick, lot="OLD", expiry=date(2020, 1, 1))
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        with self.assertRaisesMessage(DosingError, "expired on 2020-01-01"):
            services.record_administration(
                session=sess,
                lot=lot,
                dose_mg=Decimal("28"),
                started_at=timezone.now(),
                by=self.nick,
            )
        self.assertEqual(ledger_services.balance(lot), Decimal("280"))

    def test_checkpoints_fall_due_and_overdue_on_the_protocol_schedule(self) -> None:
        with self.frozen():
            sess, lot = self.dosing()
            self.give(sess, lot, 0)
            sess.refresh_from_db()
            statuses = {s.label: s for s in mon.flowsheet(sess, self.at(42))}
            self.assertEqual(statuses["pre-dose"].status, "done")
            self.assertEqual(
                statuses["about 40 minutes"].due_at, self.start + timedelta(minutes=40)
            )
            self.assertEqual(statuses["about 40 minutes"].status, "due")
            self.assertEqual(statuses["completion"].status, "upcoming")
            self.assertEqual(
                {s.label: s.status for s in mon.flowsheet(sess, self.at(46))}["about 40 minutes"],
                "overdue",
            )

    def test_discharge_waits_for_every_criterion(self) -> None:
        with self.frozen():
            sess, lot = self.dosing()
            self.give(sess, lot, 0)
            services.finish_dosing(session=sess, by=self.nick)
            self.reading(sess, 125, "completion", moaas=4, **NORMAL)
            for missing in ALL_MET:
                result = mon.assess_discharge(
                    session=sess, judged=ALL_MET | {missing: False}, by=self.nick
                )
                self.assertFalse(result.allowed, missing)
            self.assertIn("Sedation not resolved: MOAA/S 4, needs 5.", result.unmet)
            self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.MONITORING)
            self.reading(sess, 130, "completion", moaas=5, systolic=182, diastolic=95)
            self.assertFalse(
                mon.assess_discharge(session=sess, judged=ALL_MET, by=self.nick).allowed
            )
            self.reading(sess, 140, "completion", moaas=5, **NORMAL)
            self.assertTrue(
                mon.assess_discharge(session=sess, judged=ALL_MET, by=self.nick).allowed
            )
            self.reading(sess, 141, "completion", systolic=185, diastolic=95)
            self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.MONITORING)

    def test_stopping_early_after_a_device_still_makes_a_rems_form(self) -> None:
        sess, lot = self.dosing()
        services.record_administration(
            session=sess, lot=lot, dose_mg=Decimal("28"), started_at=timezone.now(), by=self.nick
        )
        services.transition(
            session=sess, to=S.STOPPED_EARLY, reason="Vomiting after first device", by=self.nick
        )
        sess.refresh_from_db()
        self.assertEqual(sess.rems_form.data["dose"], "other")
        self.assertEqual(sess.rems_form.data["dose_other_mg"], "28.00")

    def test_administered_doses_feed_the_protocols_exposure(self) -> None:
        sess, lot = self.dosing()
        services.record_administration(
            session=sess, lot=lot, dose_mg=Decimal("28"), started_at=timezone.now(), by=self.nick
        )
        self.assertEqual([mg for _, mg in administered_doses(sess.plan)], [Decimal("28.00")])
