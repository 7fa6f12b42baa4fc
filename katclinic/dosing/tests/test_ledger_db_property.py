"""Ledger reconciliation on the real database over random sequences of receipts, draws with
their doses, waste against a draw, transfers and counts, through the ledger services."""

from decimal import Decimal
from itertools import count

from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import django as hypothesis_django

from katclinic.dosing import ledger_services as ls
from katclinic.dosing.ledger import EntryKind as K
from katclinic.dosing.models import Administration, LedgerEntry, StockLot
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

mg = st.integers(min_value=1, max_value=120).map(Decimal)
step = st.one_of(
    st.tuples(st.just("receive"), mg, mg),
    st.tuples(st.just("draw"), mg, mg),
    st.tuples(st.just("waste"), mg, mg),
    st.tuples(st.just("transfer_out"), mg, mg),
    st.tuples(st.just("transfer_in"), mg, mg),
    st.tuples(st.just("count"), mg, mg),
)
LOTS = count()


class LedgerReconciliationPropertyTest(ClinicTestCase, hypothesis_django.TestCase):
    """Each example runs in its own transaction, with its own lot."""

    def setUp(self) -> None:
        super().setUp()
        self.sess = f.ready_to_dose(
            self.pat, self.paula, self.nick, key="iv_ketamine_elektd", dose="35", low="1", high="80"
        )

    def new_lot(self) -> StockLot:
        return f.stock(
            self.clinic, self.nick, key="iv_ketamine_elektd", mg="100", lot=f"P-{next(LOTS)}"
        )

    def draw(self, lot: StockLot, dose: Decimal, extra: Decimal) -> None:
        given = Administration.objects.create(
            clinic_id=self.clinic.pk,
            session=self.sess,
            product=lot.product,
            stock_lot=lot,
            lot_number=lot.lot_number,
            expiry=lot.expiry,
            dose_mg=dose,
            route="iv",
            started_at=self.sess.dose_started_at or lot.created_at,
            given_by=self.nick,
        )
        ls.take_for_administration(administration=given, by=self.nick, drawn_mg=dose + extra)

    def act(self, lot: StockLot, name: str, a: Decimal, b: Decimal) -> None:
        draws = list(lot.entries.filter(kind=K.DRAW).order_by("pk"))
        if name == "receive":
            ls.receive_stock(
                clinic=self.clinic,
                product=lot.product,
                lot_number=lot.lot_number,
                expiry=lot.expiry,
                quantity_mg=a,
                supplier="Wholesaler Inc",
                by=self.nick,
            )
        elif name == "draw":
            self.draw(lot, a, b % 20)
        elif name == "waste" and draws:
            ls.record_movement(
                lot=lot,
                kind=K.WASTE,
                quantity_mg=a,
                by=self.nick,
                witness=self.paula,
                reason="Left over",
                from_draw=draws[int(b) % len(draws)],
            )
        elif name in ("transfer_out", "transfer_in"):
            ls.record_movement(
                lot=lot, kind=K(name), quantity_mg=a, by=self.nick, counterparty="Other site"
            )
        elif name == "count":
            ls.record_count(lot=lot, counted_mg=ls.balance(lot), by=self.nick)

    def check(self, lot: StockLot) -> None:
        entries = list(lot.entries.all())

        def total(*kinds: K) -> Decimal:
            return sum((e.quantity_mg for e in entries if e.kind in kinds), Decimal("0"))

        balance = ls.balance(lot)
        self.assertGreaterEqual(balance, 0)
        came_in = total(K.RECEIPT, K.TRANSFER_IN)
        self.assertEqual(balance, came_in - total(K.ADMINISTRATION, K.WASTE, K.TRANSFER_OUT))
        for draw in (e for e in entries if e.kind == K.DRAW):
            self.assertGreaterEqual(ls.unaccounted_mg(draw), 0)
            self.assertEqual(draw.accounted_by.filter(kind=K.ADMINISTRATION).count(), 1)

    @settings(max_examples=15, deadline=None)
    @given(st.lists(step, max_size=12))
    def test_the_ledger_reconciles_after_every_step(self, steps: list) -> None:
        lot = self.new_lot()
        for name, a, b in steps:
            rows = LedgerEntry.objects.count()
            try:
                with transaction.atomic():
                    self.act(lot, name, a, b)
            except ls.LedgerRefused:
                self.assertEqual(LedgerEntry.objects.count(), rows)
            self.check(lot)
