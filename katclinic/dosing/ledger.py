"""Controlled-substance ledger arithmetic, in milligrams as ``Decimal``.

The balance is the quantity the clinic holds and must account for: drug in
stock containers plus drug drawn up but not yet given or wasted. So:

- receipt and transfer_in add to it;
- administration, waste, transfer_out and return (to the supplier or a
  reverse distributor) take from it;
- draw moves drug from a container into a syringe. The clinic still holds
  it, so the balance is unchanged, but a draw can never exceed the balance;
- count records a physical count; it changes nothing and is checked with
  ``reconcile``;
- correction adjusts the balance by a signed amount, with a reason.

Floats are refused everywhere: binary rounding has no place in a
controlled-substance record.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class EntryKind(StrEnum):
    RECEIPT = "receipt"
    DRAW = "draw"
    ADMINISTRATION = "administration"
    WASTE = "waste"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RETURN = "return"
    COUNT = "count"
    CORRECTION = "correction"


K = EntryKind

# How each kind moves the balance: +1 adds, -1 takes, 0 leaves it alone.
# A correction's sign is carried by its own quantity.
EFFECT: dict[EntryKind, int] = {
    K.RECEIPT: 1,
    K.TRANSFER_IN: 1,
    K.DRAW: 0,
    K.ADMINISTRATION: -1,
    K.WASTE: -1,
    K.TRANSFER_OUT: -1,
    K.RETURN: -1,
    K.COUNT: 0,
    K.CORRECTION: 1,
}

# Waste destroys drug, so a second person must see it. A correction changes
# the record with no drug moving, which is where a diversion would be hidden,
# so it is witnessed too.
WITNESSED: frozenset[EntryKind] = frozenset({K.WASTE, K.CORRECTION})


class LedgerError(ValueError):
    """An entry the ledger refuses."""


class NegativeBalance(LedgerError):
    """The entry would take out more than the clinic holds."""


class WitnessRequired(LedgerError):
    """The entry needs a witness other than the person recording it."""


class ReasonRequired(LedgerError):
    """The entry needs a written reason."""


def _check_decimal(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}.")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number.")
    return value


@dataclass(frozen=True)
class LedgerEntry:
    kind: EntryKind
    quantity_mg: Decimal
    recorded_by: str
    witness: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EntryKind(self.kind))
        quantity = _check_decimal(self.quantity_mg, "quantity_mg")
        if not self.recorded_by.strip():
            raise ValueError("Every ledger entry needs the person recording it.")
        if self.kind is K.CORRECTION:
            if quantity == 0:
                raise ValueError("A correction of zero changes nothing.")
        elif self.kind is K.COUNT:
            if quantity < 0:
                raise ValueError("A counted quantity cannot be negative.")
        elif quantity <= 0:
            raise ValueError(f"A {self.kind.value} needs a quantity above zero.")

    @property
    def change_mg(self) -> Decimal:
        """The signed amount this entry adds to the balance."""
        return EFFECT[self.kind] * self.quantity_mg


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _check_witness(entry: LedgerEntry) -> None:
    if entry.kind not in WITNESSED:
        return
    if entry.witness is None or not entry.witness.strip():
        raise WitnessRequired(f"A {entry.kind.value} must be witnessed.")
    if _same_person(entry.witness, entry.recorded_by):
        raise WitnessRequired(
            f"The witness to a {entry.kind.value} must be someone other than "
            f"{entry.recorded_by!r}, who recorded it."
        )


def apply_entry(balance: Decimal, entry: LedgerEntry) -> Decimal:
    """The balance after ``entry``, or an error if the entry is refused."""
    _check_decimal(balance, "balance")
    if balance < 0:
        raise ValueError("The starting balance cannot be negative.")
    _check_witness(entry)
    if entry.kind is K.CORRECTION and not entry.reason.strip():
        raise ReasonRequired("A correction needs a written reason.")
    if entry.kind is K.DRAW and entry.quantity_mg > balance:
        raise NegativeBalance(f"Cannot draw {entry.quantity_mg} mg: only {balance} mg is held.")
    after = balance + entry.change_mg
    if after < 0:
        raise NegativeBalance(
            f"A {entry.kind.value} of {entry.quantity_mg} mg would leave "
            f"{after} mg; only {balance} mg is held."
        )
    return after


def replay(entries: Iterable[LedgerEntry], *, opening: Decimal = Decimal("0")) -> Decimal:
    """Apply entries in order from ``opening``; the first refusal is raised."""
    balance = opening
    for entry in entries:
        balance = apply_entry(balance, entry)
    return balance


@dataclass(frozen=True)
class Discrepancy:
    expected_mg: Decimal
    counted_mg: Decimal
    tolerance_mg: Decimal

    @property
    def difference_mg(self) -> Decimal:
        """Counted minus expected: negative means drug is missing."""
        return self.counted_mg - self.expected_mg


def reconcile(
    expected: Decimal, counted: Decimal, *, tolerance: Decimal = Decimal("0")
) -> Discrepancy | None:
    """A ``Discrepancy`` when the count differs from the ledger by more than
    ``tolerance`` mg, else ``None``."""
    for value, name in ((expected, "expected"), (counted, "counted"), (tolerance, "tolerance")):
        _check_decimal(value, name)
    if tolerance < 0:
        raise ValueError("tolerance cannot be negative.")
    if abs(counted - expected) <= tolerance:
        return None
    return Discrepancy(expected_mg=expected, counted_mg=counted, tolerance_mg=tolerance)


def mg_from_ml(volume_ml: Decimal, concentration_mg_per_ml: Decimal) -> Decimal:
    """Milligrams in ``volume_ml`` of a solution at the given strength."""
    _check_decimal(volume_ml, "volume_ml")
    _check_decimal(concentration_mg_per_ml, "concentration_mg_per_ml")
    if volume_ml < 0 or concentration_mg_per_ml <= 0:
        raise ValueError("Volume cannot be negative and concentration must be above zero.")
    return volume_ml * concentration_mg_per_ml


def ml_from_mg(
    quantity_mg: Decimal,
    concentration_mg_per_ml: Decimal,
    *,
    quantum: Decimal = Decimal("0.01"),
) -> Decimal:
    """Volume holding ``quantity_mg``, rounded half-even to ``quantum`` mL."""
    _check_decimal(quantity_mg, "quantity_mg")
    _check_decimal(concentration_mg_per_ml, "concentration_mg_per_ml")
    if quantity_mg < 0 or concentration_mg_per_ml <= 0:
        raise ValueError("Quantity cannot be negative and concentration must be above zero.")
    return (quantity_mg / concentration_mg_per_ml).quantize(quantum, rounding=ROUND_HALF_EVEN)
