"""Money rows are refused changes by the database itself: a posted line, a received payment,
a refund and a payer posting cannot be updated, deleted, replaced (SQLite's INSERT OR
REPLACE) or truncated (PostgreSQL), while rows not yet final still can be."""

from __future__ import annotations

import importlib

from django.db import DatabaseError, IntegrityError, connection, transaction

from katclinic.billing import services
from katclinic.billing.models import ChargeLine, ChargeStatus, PayerPosting, Payment, Refund
from katclinic.billing.tests import helpers as h
from katclinic.testing import ClinicTestCase

MIGRATION = importlib.import_module("katclinic.billing.migrations.0005_money_rows_append_only")
TABLES: list[str] = MIGRATION.TRUNCATE_REFUSED


class MoneyRowsAreAppendOnlyTest(ClinicTestCase):
    def setUp(self) -> None:
        h.fee_schedule(self)
        h.diagnose(self, self.pat)
        self.bill = h.billing_user(self)
        charge = services.propose_charge(session=h.discharged(self, self.pat), by=self.bill)
        services.post_charge(charge=charge, by=self.bill)
        self.charge = charge
        self.line = charge.lines.filter(status=ChargeStatus.POSTED)[0]
        self.payment = services.record_payment(
            patient=self.pat, amount_cents=1000, method="cash", by=self.bill
        )
        self.refund = services.refund_payment(
            payment=self.payment, amount_cents=400, reason="Overpaid", by=self.bill
        )
        services.post_payer_settlement(
            charge=charge, paid_cents=500, written_off_cents=100, source="test", by=self.bill
        )
        self.posting = PayerPosting.objects.get(kind="paid")

    def refused(self, sql: str, params: list[int]) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)

    def test_final_rows_refuse_update_and_delete(self) -> None:
        rows = {
            "billing_chargeline": (self.line.pk, "unit_price_cents = 1"),
            "billing_payment": (self.payment.pk, "amount_cents = 1"),
            "billing_refund": (self.refund.pk, "amount_cents = 1"),
            "billing_payerposting": (self.posting.pk, "amount_cents = 1"),
        }
        for table, (pk, change) in rows.items():
            with self.subTest(table=table):
                self.refused(f"UPDATE {table} SET {change} WHERE id = %s", [pk])  # noqa: S608
                self.refused(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608
        self.line.refresh_from_db()
        self.payment.refresh_from_db()
        self.refund.refresh_from_db()
        self.posting.refresh_from_db()
        self.assertEqual(self.payment.amount_cents, 1000)
        self.assertEqual((self.refund.amount_cents, self.posting.amount_cents), (400, 500))
        self.assertEqual(
            services.patient_balance(self.pat), services.charge_total(self.charge) - 600 - 600
        )

    def test_rows_not_yet_final_may_still_change(self) -> None:
        pending = Payment.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            method="card",
            amount_cents=2000,
            status="pending",
            received_by=self.bill,
        )
        Payment.objects.filter(pk=pending.pk).update(status="failed")
        pending.refresh_from_db()
        self.assertEqual(pending.status, "failed")

    def test_insert_or_replace_cannot_rewrite_a_refund_on_sqlite(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("INSERT OR REPLACE is SQLite's")
        columns = [str(f.column) for f in Refund._meta.concrete_fields]
        changed = ["1" if c == "amount_cents" else c for c in columns]
        with self.assertRaises(IntegrityError), transaction.atomic(), connection.cursor() as c:
            c.execute(
                f"INSERT OR REPLACE INTO billing_refund ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(changed)} FROM billing_refund WHERE id = %s",
                [self.refund.pk],
            )
        self.refund.refresh_from_db()
        self.assertEqual(self.refund.amount_cents, 400)

    def test_truncate_is_refused_on_postgresql(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("TRUNCATE triggers are PostgreSQL's")
        for table in TABLES:
            with self.subTest(table=table):
                self.refused(f"TRUNCATE {table} CASCADE", [])
        self.assertEqual(ChargeLine.objects.filter(pk=self.line.pk).count(), 1)
        self.assertEqual(Refund.objects.count(), 1)

    def test_a_payer_cannot_settle_more_than_the_charge(self) -> None:
        total = services.charge_total(self.charge)
        with self.assertRaises(services.BillingError) as refused:
            services.post_payer_settlement(
                charge=self.charge,
                paid_cents=total,
                written_off_cents=0,
                source="test",
                by=self.bill,
            )
        self.assertEqual(refused.exception.field, "file")
        self.assertEqual(PayerPosting.objects.count(), 2)
