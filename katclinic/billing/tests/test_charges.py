from datetime import date, timedelta

from django.db import DatabaseError, transaction
from django.utils import timezone

from katclinic.billing import services
from katclinic.billing.models import ChargeLine, ChargeStatus, Invoice
from katclinic.billing.services import BillingError
from katclinic.billing.tests import helpers as h
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase


class ProposalTest(ClinicTestCase):
    def setUp(self) -> None:
        h.fee_schedule(self)
        h.diagnose(self, self.pat)
        self.bill = h.billing_user(self)

    def codes(self, charge: object) -> dict[str, int]:
        return {line.code.code: line.units for line in charge.lines.all()}  # type: ignore[attr-defined]

    def test_an_esketamine_session_proposes_drug_mg_and_administration(self) -> None:
        first = h.discharged(self, self.pat, devices=2)
        h.move_to(first, timezone.localdate() - timedelta(days=7))
        second = h.discharged(self, self.pat, devices=3)
        charge = services.propose_charge(session=second, by=self.bill)
        day = services.date_of_service(second)
        drug = "J0013" if day >= date(2026, 1, 1) else "S0013"
        self.assertEqual(self.codes(charge), {drug: 84, "G2083": 1})
        line = charge.lines.get(code__code=drug)
        self.assertEqual(line.max_units, 84)
        self.assertEqual(line.diagnosis_codes, ["F33.2"])
        self.assertEqual(line.amount_cents, 84 * line.unit_price_cents)
        self.assertEqual(charge.status, ChargeStatus.PROPOSED)

    def test_the_first_esketamine_session_asks_for_an_office_visit(self) -> None:
        charge = services.propose_charge(session=h.discharged(self, self.pat), by=self.bill)
        self.assertNotIn("G2082", self.codes(charge))
        charge.refresh_from_db()
        self.assertTrue(any("office visit" in note for note in charge.notes))

    def test_an_iv_session_proposes_infusion_hours_and_the_drug(self) -> None:
        charge = services.propose_charge(
            session=h.discharged(self, self.pat, route="iv"), by=self.bill
        )
        # 100 minutes of infusion: the first hour and one more (more than 30 minutes past it).
        self.assertEqual(self.codes(charge), {"96365": 1, "96366": 1, "J3490": 1})
        self.assertEqual(charge.session_kind, "iv")

    def test_the_code_follows_the_date_of_service(self) -> None:
        old = h.move_to(h.discharged(self, self.pat), date(2025, 12, 31))
        new = h.move_to(h.discharged(self, self.quinn), date(2026, 1, 2))
        self.assertIn("S0013", self.codes(services.propose_charge(session=old, by=self.bill)))
        self.assertIn("J0013", self.codes(services.propose_charge(session=new, by=self.bill)))

    def test_a_session_not_discharged_cannot_be_charged(self) -> None:
        sess = f.ready_to_dose(self.pat, self.paula, self.nick)
        with self.assertRaisesMessage(BillingError, "not been completed"):
            services.propose_charge(session=sess, by=self.bill)
        self.assertFalse(ChargeLine.objects.exists())


class UnpricedProposalTest(ClinicTestCase):
    def test_what_the_lines_could_not_price_is_stored_with_the_charge(self) -> None:
        h.diagnose(self, self.pat)
        bill = h.billing_user(self)
        charge = services.propose_charge(session=h.discharged(self, self.pat, route="iv"), by=bill)
        charge.refresh_from_db()
        unpriced = [note for note in charge.notes if note.startswith("No fee is set for")]
        self.assertEqual(len(unpriced), charge.lines.count())
        self.assertGreater(len(unpriced), 0)
        self.assertFalse(charge.lines.exclude(unit_price_cents=0).exists())


class PostingTest(ClinicTestCase):
    def setUp(self) -> None:
        h.fee_schedule(self)
        h.diagnose(self, self.pat)
        self.bill = h.billing_user(self)
        self.charge = services.propose_charge(
            session=h.discharged(self, self.pat, route="iv"), by=self.bill
        )

    def test_more_units_than_given_are_refused_and_nothing_changes(self) -> None:
        line = self.charge.lines.get(code__code="96366")
        with self.assertRaisesMessage(BillingError, "at most 1"):
            services.adjust_line(
                line=line, units=3, unit_price_cents=10000, reason="Longer", by=self.bill
            )
        line.refresh_from_db()
        self.assertEqual(line.units, 1)
        # Forcing the units past the record is caught again at posting time.
        ChargeLine.objects.filter(pk=line.pk).update(units=3, amount_cents=30000)
        with self.assertRaisesMessage(BillingError, "more than the session record supports"):
            services.post_charge(charge=self.charge, by=self.bill)
        self.charge.refresh_from_db()
        self.assertEqual(self.charge.status, ChargeStatus.PROPOSED)
        self.assertFalse(ChargeLine.objects.filter(status=ChargeStatus.POSTED).exists())
        self.assertFalse(Invoice.objects.exists())

    def test_adding_a_drug_line_beyond_the_mg_given_is_refused(self) -> None:
        code = self.charge.lines.get(code__code="J3490").code
        with self.assertRaises(BillingError):
            services.add_line(
                charge=self.charge,
                code=code,
                units=1,
                unit_price_cents=5000,
                reason="x",
                by=self.bill,
            )
        self.assertEqual(self.charge.lines.count(), 3)

    def test_posting_then_correcting_is_a_reversal_and_a_new_line(self) -> None:
        line = self.charge.lines.get(code__code="96366")
        services.adjust_line(
            line=line, units=1, unit_price_cents=12000, reason="Clinic price", by=self.bill
        )
        services.post_charge(charge=self.charge, by=self.bill)
        total = services.charge_total(self.charge)
        self.assertEqual(total, 30000 + 12000 + 5000)
        self.assertTrue(Invoice.objects.filter(charge=self.charge).exists())
        line.refresh_from_db()
        with self.assertRaises(BillingError):
            services.adjust_line(
                line=line, units=1, unit_price_cents=1, reason="edit", by=self.bill
            )
        line.unit_price_cents = 1
        with self.assertRaises(DatabaseError), transaction.atomic():
            line.save()
        line.refresh_from_db()
        reversal = services.reverse_line(line=line, reason="Wrong price", by=self.bill)
        self.assertEqual((reversal.units, reversal.amount_cents), (-1, -12000))
        services.add_line(
            charge=self.charge,
            code=line.code,
            units=1,
            unit_price_cents=10000,
            reason="Right price",
            by=self.bill,
        )
        self.assertEqual(services.charge_total(self.charge), 30000 + 10000 + 5000)
        line.refresh_from_db()
        self.assertEqual(line.amount_cents, 12000)  # the original stands, reversed
        with self.assertRaises(BillingError):
            services.reverse_line(line=line, reason="again", by=self.bill)

    def test_an_adjustment_needs_a_reason(self) -> None:
        line = self.charge.lines.first()
        assert line is not None
        with self.assertRaises(BillingError) as caught:
            services.adjust_line(line=line, units=1, unit_price_cents=1, reason=" ", by=self.bill)
        self.assertEqual(caught.exception.field, "reason")
        line.refresh_from_db()
        self.assertNotEqual(line.unit_price_cents, 1)


class NoCodeTest(ClinicTestCase):
    def test_a_service_without_a_code_that_day_becomes_a_note_not_an_error(self) -> None:
        h.fee_schedule(self, on=date(2020, 1, 1))
        h.diagnose(self, self.pat)
        session = h.move_to(h.discharged(self, self.pat, route="iv"), date(2023, 6, 1))
        charge = services.propose_charge(session=session, by=self.adam)
        self.assertEqual({line.code.code for line in charge.lines.all()}, {"96365", "96366"})
        self.assertTrue(any("No code" in note for note in charge.notes))
