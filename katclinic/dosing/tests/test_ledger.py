from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katclinic.dosing.ledger import (
    EntryKind,
    LedgerEntry,
    LedgerError,
    NegativeBalance,
    ReasonRequired,
    WitnessRequired,
    apply_entry,
    mg_from_ml,
    ml_from_mg,
    reconcile,
    replay,
)

K = EntryKind
D = Decimal


def entry(kind: EntryKind, mg: str, **extra: str) -> LedgerEntry:
    return LedgerEntry(kind=kind, quantity_mg=D(mg), recorded_by="nurse.ng", **extra)


def test_a_session_s_entries_give_the_expected_balance() -> None:
    entries = [
        entry(K.RECEIPT, "1000"),
        entry(K.DRAW, "50"),
        entry(K.ADMINISTRATION, "35"),
        entry(K.WASTE, "15", witness="dr.okafor"),
        entry(K.TRANSFER_OUT, "200"),
        entry(K.TRANSFER_IN, "100"),
        entry(K.RETURN, "100"),
        entry(K.COUNT, "750"),
    ]
    assert replay(entries) == D("750")


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        (K.RECEIPT, "10"),
        (K.TRANSFER_IN, "10"),
        (K.DRAW, "0"),
        (K.COUNT, "0"),
        (K.ADMINISTRATION, "-10"),
        (K.TRANSFER_OUT, "-10"),
        (K.RETURN, "-10"),
    ],
)
def test_each_kind_moves_the_balance_its_own_way(kind: EntryKind, change: str) -> None:
    assert apply_entry(D("100"), entry(kind, "10")) == D("100") + D(change)


def test_waste_needs_a_witness() -> None:
    with pytest.raises(WitnessRequired, match="must be witnessed"):
        apply_entry(D("100"), entry(K.WASTE, "5"))
    with pytest.raises(WitnessRequired, match="must be witnessed"):
        apply_entry(D("100"), entry(K.WASTE, "5", witness="  "))


@pytest.mark.parametrize("witness", ["nurse.ng", " Nurse.NG "])
def test_the_recorder_cannot_witness_their_own_waste(witness: str) -> None:
    with pytest.raises(WitnessRequired, match="someone other than 'nurse.ng'"):
        apply_entry(D("100"), entry(K.WASTE, "5", witness=witness))


def test_witnessed_waste_is_taken_from_the_balance() -> None:
    assert apply_entry(D("100"), entry(K.WASTE, "5", witness="dr.okafor")) == D("95")


def test_a_correction_needs_a_witness_and_a_reason_and_may_go_either_way() -> None:
    with pytest.raises(WitnessRequired):
        apply_entry(D("100"), entry(K.CORRECTION, "-2", reason="Miscount"))
    with pytest.raises(ReasonRequired):
        apply_entry(D("100"), entry(K.CORRECTION, "-2", witness="dr.okafor"))
    down = entry(K.CORRECTION, "-2", witness="dr.okafor", reason="Entry 41 typed 52 for 50")
    up = entry(K.CORRECTION, "3", witness="dr.okafor", reason="Vial found in fridge")
    assert apply_entry(D("100"), down) == D("98")
    assert apply_entry(D("100"), up) == D("103")


@pytest.mark.parametrize("kind", [K.ADMINISTRATION, K.TRANSFER_OUT, K.RETURN, K.DRAW])
def test_it_refuses_to_take_more_than_is_held(kind: EntryKind) -> None:
    with pytest.raises(NegativeBalance, match="only 40 mg is held"):
        apply_entry(D("40"), entry(kind, "40.5"))


def test_waste_and_corrections_cannot_go_negative_either() -> None:
    with pytest.raises(NegativeBalance):
        apply_entry(D("4"), entry(K.WASTE, "5", witness="dr.okafor"))
    with pytest.raises(NegativeBalance):
        apply_entry(D("4"), entry(K.CORRECTION, "-5", witness="dr.okafor", reason="x"))


def test_taking_exactly_the_balance_leaves_zero() -> None:
    assert apply_entry(D("40"), entry(K.ADMINISTRATION, "40")) == D("0")


@pytest.mark.parametrize(
    ("kind", "mg"),
    [(K.RECEIPT, "0"), (K.ADMINISTRATION, "-5"), (K.CORRECTION, "0"), (K.COUNT, "-1")],
)
def test_entries_with_impossible_quantities_cannot_be_made(kind: EntryKind, mg: str) -> None:
    with pytest.raises(ValueError):
        entry(kind, mg)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        LedgerEntry(kind=K.RECEIPT, quantity_mg=10.5, recorded_by="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Decimal"):
        apply_entry(100.0, entry(K.RECEIPT, "1"))  # type: ignore[arg-type]


def test_reconcile_returns_nothing_when_the_count_matches() -> None:
    assert reconcile(D("750"), D("750")) is None
    assert reconcile(D("750"), D("749.5"), tolerance=D("0.5")) is None


def test_reconcile_reports_a_shortfall_beyond_tolerance() -> None:
    found = reconcile(D("750"), D("749.4"), tolerance=D("0.5"))
    assert found is not None
    assert found.difference_mg == D("-0.6")
    assert (found.expected_mg, found.counted_mg) == (D("750"), D("749.4"))


def test_reconcile_reports_a_surplus_too() -> None:
    found = reconcile(D("750"), D("751"))
    assert found is not None and found.difference_mg == D("1")


def test_reconcile_refuses_a_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        reconcile(D("1"), D("1"), tolerance=D("-1"))


def test_volume_and_mass_conversions() -> None:
    assert mg_from_ml(D("0.35"), D("100")) == D("35.00")
    assert ml_from_mg(D("35"), D("50")) == D("0.70")
    assert ml_from_mg(D("28"), D("140"), quantum=D("0.001")) == D("0.200")
    assert ml_from_mg(D("10"), D("3")) == D("3.33")
    with pytest.raises(ValueError, match="concentration"):
        mg_from_ml(D("1"), D("0"))


# --- property: whatever apply_entry accepts keeps the balance non-negative ---

quantities = st.decimals(min_value=D("-500"), max_value=D("500"), places=2)
people = st.sampled_from(["nurse.ng", "dr.okafor", "", "NURSE.NG"])


@st.composite
def ledger_entries(draw: st.DrawFn) -> LedgerEntry | None:
    try:
        return LedgerEntry(
            kind=draw(st.sampled_from(list(EntryKind))),
            quantity_mg=draw(quantities),
            recorded_by="nurse.ng",
            witness=draw(st.one_of(st.none(), people)),
            reason=draw(st.sampled_from(["", "recount"])),
        )
    except ValueError:
        return None


@given(
    opening=st.decimals(min_value=D("0"), max_value=D("1000"), places=2),
    entries=st.lists(ledger_entries(), max_size=40),
)
def test_accepted_entries_never_leave_a_negative_balance(
    opening: Decimal, entries: list[LedgerEntry | None]
) -> None:
    balance = opening
    for candidate in entries:
        if candidate is None:
            continue
        try:
            after = apply_entry(balance, candidate)
        except LedgerError:
            continue
        assert after >= 0
        assert after == balance + candidate.change_mg
        balance = after
