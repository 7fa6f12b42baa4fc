"""The controlled-substance ledger: receipts, draws, administrations, waste, counts.

Every entry is appended under a row lock on its lot, with the running balance computed by
`ledger.apply_entry`, so two nurses drawing at once cannot both take the last milligrams. The
database also refuses a negative balance and any UPDATE or DELETE of an entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import PERMISSIONS, Perm, Role
from katclinic.dosing import ledger
from katclinic.dosing.clinic_settings import COUNT_TOLERANCE_MG
from katclinic.dosing.ledger import EntryKind
from katclinic.dosing.models import Administration, LedgerEntry, StockLot

K = EntryKind
MOVEMENTS = (K.WASTE, K.TRANSFER_OUT, K.TRANSFER_IN, K.RETURN, K.CORRECTION)


class LedgerRefused(ValueError):
    """An entry the ledger will not take, in words staff can act on ("field: why")."""


# The form field each refusal of the pure ledger is about; any other is about the quantity.
REFUSED_FIELD: dict[type[Exception], str] = {
    ledger.WitnessRequired: "witness_email",
    ledger.ReasonRequired: "reason",
}


def refusal_reason(exc: LedgerRefused) -> str:
    """The words of a refusal without the field it names, for a caller with its own field."""
    field, _, why = str(exc).partition(": ")
    return why if why and " " not in field else str(exc)


def balance(lot: StockLot) -> Decimal:
    last = lot.entries.order_by("-pk").values_list("balance_after_mg", flat=True).first()
    return last if last is not None else Decimal("0")


def _append(
    lot: StockLot,
    kind: EntryKind,
    quantity: Decimal,
    *,
    by: User,
    witness: User | None = None,
    reason: str = "",
    at: datetime | None = None,
    **fields: object,
) -> LedgerEntry:
    """Lock the lot, apply the pure rules, and store the entry with its balance (at ``at``,
    or now)."""
    lot = StockLot.objects.select_for_update().get(pk=lot.pk)
    try:
        entry = ledger.LedgerEntry(
            kind=kind,
            quantity_mg=quantity,
            recorded_by=str(by.pk),
            witness=str(witness.pk) if witness else None,
            reason=reason,
        )
        after = ledger.apply_entry(balance(lot), entry)
    except (ledger.LedgerError, ValueError) as exc:
        raise LedgerRefused(f"{REFUSED_FIELD.get(type(exc), 'quantity_mg')}: {exc}") from None
    return LedgerEntry.objects.create(
        clinic_id=lot.clinic_id,
        lot=lot,
        kind=kind,
        quantity_mg=quantity,
        balance_after_mg=after,
        recorded_by=by,
        witness=witness,
        reason=reason,
        at=at or timezone.now(),
        **fields,
    )


def _audit(request: HttpRequest | None, by: User, entry: LedgerEntry, **detail: object) -> None:
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=entry.clinic_id,
        obj=entry,
        detail={
            "kind": entry.kind,
            "mg": str(entry.quantity_mg),
            "lot": entry.lot_id,
            "balance": str(entry.balance_after_mg),
            **detail,
        },
    )


@transaction.atomic
def receive_stock(
    *,
    clinic: Clinic,
    product: str,
    lot_number: str,
    expiry: date,
    quantity_mg: Decimal,
    supplier: str,
    concentration_mg_per_ml: Decimal | None = None,
    by: User,
    request: HttpRequest | None = None,
) -> LedgerEntry:
    """Book a delivery: the lot is created on first receipt."""
    if not supplier.strip():
        raise LedgerRefused("supplier: name who delivered the stock.")
    lot, created = StockLot.objects.get_or_create(
        clinic=clinic,
        product=product.strip(),
        lot_number=lot_number.strip(),
        defaults={"expiry": expiry, "concentration_mg_per_ml": concentration_mg_per_ml},
    )
    if not created and lot.expiry != expiry:
        raise LedgerRefused(
            f"expiry: lot {lot.lot_number} is on record with expiry {lot.expiry:%Y-%m-%d}."
        )
    entry = _append(lot, K.RECEIPT, quantity_mg, by=by, counterparty=supplier.strip())
    _audit(request, by, entry, supplier=supplier.strip())
    return entry


def take_for_administration(
    *,
    administration: Administration,
    by: User,
    at: datetime | None = None,
    drawn_mg: Decimal | None = None,
) -> list[LedgerEntry]:
    """Inside record_administration's transaction: a draw for solutions, then the administration.

    ``drawn_mg`` is what went into the syringe when it was more than the dose; the rest is
    wasted later against the same draw. ``at`` back-dates the entries (the demo's history).
    """
    lot, dose = administration.stock_lot, administration.dose_mg
    if lot is None:
        raise LedgerRefused("lot: a controlled dose must come from a stock lot.")
    if drawn_mg is not None and (lot.concentration_mg_per_ml is None or drawn_mg < dose):
        raise LedgerRefused("drawn_mg: give what was drawn up, at least the dose, for a solution.")
    draw = None
    if lot.concentration_mg_per_ml is not None:
        draw = _append(lot, K.DRAW, drawn_mg or dose, by=by, administration=administration, at=at)
    given = _append(
        lot, K.ADMINISTRATION, dose, by=by, administration=administration, from_draw=draw, at=at
    )
    return [e for e in (draw, given) if e is not None]


def unaccounted_mg(draw: LedgerEntry) -> Decimal:
    """What of a draw is neither given nor wasted yet: anything left is a discrepancy."""
    used = draw.accounted_by.aggregate(total=Sum("quantity_mg"))["total"] or Decimal("0")
    return draw.quantity_mg - used


def _check_from_draw(lot: StockLot, kind: EntryKind, draw: LedgerEntry, mg: Decimal) -> None:
    if kind is not K.WASTE or draw.kind != K.DRAW or draw.lot_id != lot.pk:
        raise LedgerRefused("from_draw: waste is linked to a draw from this lot.")
    left = unaccounted_mg(draw)
    if mg > left:
        raise LedgerRefused(f"quantity_mg: only {left} mg of that draw is left to waste.")


def confirm_witness(*, clinic: Clinic, email: str, password: str, recorder: User) -> User:
    """The second person: another active ledger keeper of this clinic, who gives their password."""
    roles = [r.value for r in PERMISSIONS[Perm.KEEP_LEDGER]]
    witness = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    member = (
        witness is not None
        and StaffMembership.objects.active()
        .filter(user=witness, clinic=clinic, role__in=roles)
        .exists()
    )
    if witness is None or not member or not witness.check_password(password):
        raise LedgerRefused(
            "witness: email or password not recognised for a ledger keeper of this clinic."
        )
    if witness.pk == recorder.pk:
        raise LedgerRefused("witness: the witness must be someone other than the person recording.")
    return witness


@transaction.atomic
def record_movement(
    *,
    lot: StockLot,
    kind: EntryKind,
    quantity_mg: Decimal,
    by: User,
    witness: User | None = None,
    reason: str = "",
    counterparty: str = "",
    corrects: LedgerEntry | None = None,
    from_draw: LedgerEntry | None = None,
    request: HttpRequest | None = None,
) -> LedgerEntry:
    """Waste (witnessed, linked to its draw), transfer out or in, return, or a correction."""
    if kind not in MOVEMENTS:
        raise LedgerRefused(f"kind: {kind} is not recorded here.")
    if kind in (K.TRANSFER_OUT, K.TRANSFER_IN, K.RETURN) and not counterparty.strip():
        raise LedgerRefused("counterparty: say where the stock went or came from.")
    if corrects is not None and corrects.lot_id != lot.pk:
        raise LedgerRefused("corrects: that entry belongs to another lot.")
    if from_draw is not None:
        StockLot.objects.select_for_update().get(pk=lot.pk)
        _check_from_draw(lot, kind, from_draw, quantity_mg)
    entry = _append(
        lot,
        kind,
        quantity_mg,
        by=by,
        witness=witness,
        reason=reason.strip(),
        counterparty=counterparty.strip(),
        corrects=corrects,
        from_draw=from_draw,
    )
    _audit(request, by, entry, witness=witness.pk if witness else None, draw=entry.from_draw_id)
    return entry


def _alert_admins(lot: StockLot, entry: LedgerEntry) -> None:
    admins = StaffMembership.objects.active().filter(clinic_id=lot.clinic_id, role=Role.ADMIN)
    emails = sorted({m.user.email for m in admins.select_related("user")})
    if emails:
        send_mail(
            subject=f"Controlled-substance count discrepancy: {lot.product} lot {lot.lot_number}",
            message=(
                f"A physical count on {entry.at:%Y-%m-%d %H:%M} found {entry.quantity_mg} mg; "
                f"the ledger holds {entry.balance_after_mg} mg (difference {entry.discrepancy_mg} mg). "
                "Review the ledger in KAT Clinic."
            ),
            from_email=None,
            recipient_list=emails,
        )


@transaction.atomic
def record_count(
    *, lot: StockLot, counted_mg: Decimal, by: User, request: HttpRequest | None = None
) -> LedgerEntry:
    """A physical count; a difference beyond the clinic's tolerance alerts the clinic admins."""
    tolerance = COUNT_TOLERANCE_MG.value(lot.clinic)
    locked = StockLot.objects.select_for_update().get(pk=lot.pk)
    found = ledger.reconcile(balance(locked), counted_mg, tolerance=tolerance)
    discrepancy = found.difference_mg if found else None
    entry = _append(lot, K.COUNT, counted_mg, by=by, discrepancy_mg=discrepancy)
    if found is not None:
        transaction.on_commit(lambda: _alert_admins(lot, entry))
    _audit(request, by, entry, discrepancy=str(discrepancy) if discrepancy is not None else None)
    return entry


@dataclass(frozen=True)
class LotReport:
    lot: StockLot
    opening_mg: Decimal
    entries: list[LedgerEntry]
    closing_mg: Decimal


def inventory_report(*, clinic: Clinic, start: datetime, end: datetime) -> list[LotReport]:
    """Per lot: balance before `start`, entries in [start, end), balance at the end."""
    entries = (
        LedgerEntry.objects.filter(clinic=clinic, at__lt=end)
        .select_related("lot", "recorded_by", "witness", "administration__session__patient")
        .order_by("lot__product", "lot__lot_number", "at", "pk")
    )
    reports: dict[int, LotReport] = {}
    for entry in entries:
        report = reports.get(entry.lot_id) or LotReport(entry.lot, Decimal("0"), [], Decimal("0"))
        if entry.at < start:
            report = LotReport(
                report.lot, entry.balance_after_mg, report.entries, entry.balance_after_mg
            )
        else:
            report.entries.append(entry)
            report = LotReport(
                report.lot, report.opening_mg, report.entries, entry.balance_after_mg
            )
        reports[entry.lot_id] = report
    return list(reports.values())


@dataclass(frozen=True)
class DrawAccount:
    """One draw with the doses given and the waste recorded from it; the rest is unaccounted."""

    draw: LedgerEntry
    given: list[LedgerEntry]
    wasted: list[LedgerEntry]

    @property
    def unaccounted_mg(self) -> Decimal:
        used = sum((e.quantity_mg for e in self.given + self.wasted), Decimal("0"))
        return self.draw.quantity_mg - used


def draw_accounts(*, clinic: Clinic, start: datetime, end: datetime) -> list[DrawAccount]:
    """Every draw in [start, end) with what became of it, for the inventory report."""
    draws = (
        LedgerEntry.objects.filter(clinic=clinic, kind=K.DRAW, at__gte=start, at__lt=end)
        .select_related("lot", "administration__session__patient")
        .prefetch_related("accounted_by__witness")
        .order_by("at", "pk")
    )
    return [
        DrawAccount(
            draw=draw,
            given=[e for e in draw.accounted_by.all() if e.kind == K.ADMINISTRATION],
            wasted=[e for e in draw.accounted_by.all() if e.kind == K.WASTE],
        )
        for draw in draws
    ]


def lots_with_balance(clinic: Clinic) -> Iterable[tuple[StockLot, Decimal]]:
    for lot in StockLot.objects.filter(clinic=clinic):
        yield lot, balance(lot)
