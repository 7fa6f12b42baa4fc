"""Ledger reconciliation over random sequences of receipts, draws, doses, waste, transfers and
counts: whatever is accepted, the balance is what came in minus what went out, never below zero,
and a refused entry changes nothing."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from katclinic.dosing.ledger import EntryKind as K
from katclinic.dosing.ledger import LedgerEntry, LedgerError, apply_entry, reconcile

KINDS = [K.RECEIPT, K.DRAW, K.ADMINISTRATION, K.WASTE, K.TRANSFER_OUT, K.TRANSFER_IN, K.COUNT]
IN, OUT = {K.RECEIPT, K.TRANSFER_IN}, {K.ADMINISTRATION, K.WASTE, K.TRANSFER_OUT}
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
steps = st.lists(st.tuples(st.sampled_from(KINDS), amounts, st.booleans()), max_size=40)


def entry(kind: K, mg: Decimal, witnessed: bool) -> LedgerEntry:
    return LedgerEntry(
        kind=kind, quantity_mg=mg, recorded_by="1", witness="2" if witnessed else None
    )


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_balance_is_receipts_minus_what_left_and_never_negative(
    sequence: list[tuple[K, Decimal, bool]],
) -> None:
    balance, came_in, went_out = Decimal("0"), Decimal("0"), Decimal("0")
    for kind, mg, witnessed in sequence:
        try:
            after = apply_entry(balance, entry(kind, mg, witnessed))
        except LedgerError:
            refused_for_quantity = kind in OUT | {K.DRAW} and mg > balance
            assert refused_for_quantity or (kind is K.WASTE and not witnessed)
            continue
        assert not (kind is K.WASTE and not witnessed)
        came_in += mg if kind in IN else 0
        went_out += mg if kind in OUT else 0
        if kind in (K.DRAW, K.COUNT):
            assert after == balance
        balance = after
        assert balance >= 0
        assert balance == came_in - went_out
        if kind is K.COUNT:
            assert (reconcile(balance, mg) is None) == (mg == balance)
