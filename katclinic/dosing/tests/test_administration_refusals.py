"""Doses the record must refuse, posted through the session page: each answers 400 at its field
and leaves the administrations and the ledger as they were."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from katclinic.dosing import ledger_services, services
from katclinic.dosing.models import Administration, DosingSession, LedgerEntry, StockLot
from katclinic.dosing.services import DosingError
from katclinic.dosing.tests import factories as f
from katclinic.testing import PASSWORD, ClinicTestCase

CLINIC_ZONE = ZoneInfo("America/New_York")
IV: dict[str, Any] = {"key": "iv_ketamine_elektd", "dose": "35", "low": "30", "high": "40"}


def local(at: datetime) -> str:
    return timezone.localtime(at, timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M")


class AdministrationRefusalTest(ClinicTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.login(self.nick)

    def post(self, sess: DosingSession, lot: StockLot, **values: Any) -> Any:
        data = {"lot": lot.pk, "dose_mg": "28", "started_at": local(timezone.now())} | values
        return self.client.post(reverse("dosing:administer", args=[sess.pk]), data)

    def assert_refused(self, response: Any, field: str) -> None:
        self.assertEqual(response.status_code, 400)
        self.assertIn(field, response.context["administration_form"].errors)

    def assert_nothing_stored(self, before: tuple[int, int], lot: StockLot) -> None:
        self.assertEqual((Administration.objects.count(), LedgerEntry.objects.count()), before)
        self.assertEqual(ledger_services.balance(lot), lot.entries.get().quantity_mg)

    def counts(self) -> tuple[int, int]:
        return Administration.objects.count(), LedgerEntry.objects.count()

    def test_a_start_three_hours_ahead_is_refused_at_the_start_time(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        before = self.counts()
        response = self.post(sess, lot, started_at=local(timezone.now() + timedelta(hours=3)))
        self.assert_refused(response, "started_at")
        self.assertContains(response, "in the future", status_code=400)
        self.assertNotContains(response, "started_at:", status_code=400)
        self.assertContains(response, "Started: this time is in the future.", status_code=400)
        self.assert_nothing_stored(before, lot)

    def test_a_start_before_the_pre_dose_checks_is_refused(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        before = self.counts()
        response = self.post(sess, lot, started_at=local(timezone.now() - timedelta(minutes=30)))
        self.assert_refused(response, "started_at")
        self.assertContains(response, "before the pre-dose checks", status_code=400)
        self.assert_nothing_stored(before, lot)

    def test_a_dose_entered_two_hours_late_needs_a_reason_and_is_shown_as_late(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(hours=3))
        given = local(timezone.now() - timedelta(hours=2))
        before = self.counts()
        self.assert_refused(self.post(sess, lot, started_at=given), "late_entry_reason")
        self.assert_nothing_stored(before, lot)
        reason = "Recorded on paper during a network outage."
        response = self.post(sess, lot, started_at=given, late_entry_reason=reason)
        self.assertRedirects(response, reverse("dosing:session", args=[sess.pk]))
        dose = Administration.objects.get(session=sess)
        self.assertEqual((dose.late_entry_reason, dose.given_by), (reason, self.nick))
        page = self.client.get(reverse("dosing:session", args=[sess.pk]))
        self.assertContains(page, "Late entry")
        self.assertContains(page, reason)

    def test_a_dose_larger_than_the_lot_holds_is_refused_at_the_dose(self) -> None:
        lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd", mg="20", lot="IV-1")
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, **IV)
        before = self.counts()
        response = self.post(sess, lot, dose_mg="35")
        self.assert_refused(response, "dose_mg")
        self.assertContains(response, "only 20", status_code=400)
        self.assertNotContains(response, "dose_mg:", status_code=400)
        self.assert_nothing_stored(before, lot)

    def test_a_ketamine_vial_is_refused_in_an_esketamine_session(self) -> None:
        lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd", mg="1000", lot="IV-1")
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        before = self.counts()
        response = self.post(sess, lot)
        self.assert_refused(response, "lot")
        self.assertContains(response, "nasal device", status_code=400)
        self.assert_nothing_stored(before, lot)

    def test_a_nasal_device_is_refused_in_an_iv_session(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, **IV)
        before = self.counts()
        self.assert_refused(self.post(sess, lot, dose_mg="35"), "lot")
        self.assert_nothing_stored(before, lot)

    def test_the_service_refuses_the_same_doses_and_stores_nothing(self) -> None:
        lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd", mg="1000", lot="IV-1")
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        before = self.counts()
        for started_at, field in (
            (timezone.now() + timedelta(minutes=6), "started_at"),
            (timezone.now(), "lot"),
        ):
            with self.subTest(field), self.assertRaisesMessage(DosingError, f"{field}:"):
                services.record_administration(
                    session=sess,
                    lot=lot,
                    dose_mg=Decimal("28"),
                    started_at=started_at,
                    by=self.nick,
                )
        self.assert_nothing_stored(before, lot)

    def test_assessing_readiness_while_the_dose_is_still_ahead_is_a_form_error(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        services.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() + timedelta(minutes=4),
            by=self.nick,
        )
        services.finish_dosing(session=sess, by=self.nick)
        count = sess.discharge_assessments.count()
        response = self.client.post(
            reverse("dosing:assess_discharge", args=[sess.pk]),
            {"escort_present": "on", "vitals_acceptable": "on"},
        )
        self.assertContains(response, "once it has begun", status_code=400)
        self.assertEqual(sess.discharge_assessments.count(), count)
        self.assertEqual(
            self.client.get(reverse("dosing:session", args=[sess.pk])).status_code, 200
        )


class DrawDoseWasteTest(ClinicTestCase):
    """A nurse draws 50 mg, gives 35 mg and wastes 15 mg with a witness; each is its own entry."""

    def setUp(self) -> None:
        super().setUp()
        self.lot = f.stock(self.clinic, self.nick, key="iv_ketamine_elektd", mg="500", lot="IV-1")
        self.sess = f.ready_to_dose(self.pat, self.paula, self.nick, **IV)
        self.login(self.nick)

    def give(self, **values: str) -> Any:
        data = {"lot": self.lot.pk, "dose_mg": "35", "started_at": local(timezone.now())}
        return self.client.post(reverse("dosing:administer", args=[self.sess.pk]), data | values)

    def waste(self, draw: LedgerEntry, mg: str, **values: str) -> Any:
        data = {
            "kind": "waste",
            "quantity_mg": mg,
            "reason": "Left in the syringe",
            "from_draw": str(draw.pk),
            "witness_email": "paula@example.org",
            "witness_password": PASSWORD,
        } | values
        return self.client.post(reverse("dosing:lot_movement", args=[self.lot.pk]), data)

    def test_draw_50_give_35_waste_15_reconciles_with_each_entry_linked(self) -> None:
        self.assertEqual(self.give(drawn_mg="50").status_code, 302)
        draw = self.lot.entries.get(kind="draw")
        given = self.lot.entries.get(kind="administration")
        self.assertEqual((draw.quantity_mg, given.quantity_mg, given.from_draw), (50, 35, draw))
        self.assertEqual(ledger_services.unaccounted_mg(draw), Decimal("15"))
        response = self.waste(draw, "15")
        self.assertRedirects(response, reverse("dosing:lot", args=[self.lot.pk]))
        waste = self.lot.entries.get(kind="waste")
        self.assertEqual((waste.from_draw, waste.witness), (draw, self.paula))
        self.assertEqual(ledger_services.unaccounted_mg(draw), Decimal("0"))
        self.assertEqual(ledger_services.balance(self.lot), Decimal("450"))
        report = self.client.get(reverse("dosing:ledger_report"))
        self.assertContains(report, f"35.00 (no. {given.pk})")
        self.assertContains(report, f"15.00 (no. {waste.pk}, {self.paula.full_name})")
        self.assertNotContains(report, "Discrepancy")

    def test_a_draw_not_fully_given_or_wasted_shows_as_a_discrepancy(self) -> None:
        self.give(drawn_mg="50")
        report = self.client.get(reverse("dosing:ledger_report"))
        self.assertContains(report, "Discrepancy: 15.00 mg not given or wasted")

    def test_wasting_more_than_is_left_of_the_draw_is_refused(self) -> None:
        self.give(drawn_mg="50")
        draw = self.lot.entries.get(kind="draw")
        response = self.waste(draw, "16")
        self.assertEqual(response.status_code, 400)
        self.assertIn("quantity_mg", response.context["movement_form"].errors)
        self.assertFalse(self.lot.entries.filter(kind="waste").exists())
        self.assertEqual(ledger_services.unaccounted_mg(draw), Decimal("15"))

    def test_waste_from_a_draw_without_a_witness_is_refused(self) -> None:
        self.give(drawn_mg="50")
        draw = self.lot.entries.get(kind="draw")
        response = self.waste(draw, "15", witness_email="", witness_password="")
        self.assertEqual(response.status_code, 400)
        self.assertIn("witness_email", response.context["movement_form"].errors)
        self.assertFalse(self.lot.entries.filter(kind="waste").exists())

    def test_drawing_less_than_the_dose_is_refused_at_the_draw(self) -> None:
        before = (Administration.objects.count(), LedgerEntry.objects.count())
        response = self.give(drawn_mg="30")
        self.assertEqual(response.status_code, 400)
        self.assertIn("drawn_mg", response.context["administration_form"].errors)
        self.assertEqual((Administration.objects.count(), LedgerEntry.objects.count()), before)
