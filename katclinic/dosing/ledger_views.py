"""Controlled-substance ledger pages: stock on hand, one lot's entries, movements, report."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.dosing import ledger_services
from katclinic.dosing.access import get_lot
from katclinic.dosing.forms import (
    CountForm,
    MovementForm,
    ReceiptForm,
    ReportForm,
    attach_field_error,
)
from katclinic.dosing.ledger import EntryKind
from katclinic.dosing.ledger_services import LedgerRefused
from katclinic.dosing.models import LedgerEntry, StockLot


def _stock_page(
    request: StaffRequest, form: Form | None = None, error: str = "", status: int = 200
) -> HttpResponse:
    lots = list(ledger_services.lots_with_balance(request.clinic))
    today = timezone.localdate()
    return render(
        request,
        "dosing/ledger.html",
        {
            "lots": lots,
            "form": form or ReceiptForm(),
            "error": error,
            "today": today,
            "report_form": ReportForm(initial={"start": today.replace(day=1), "end": today}),
        },
        status=status,
    )


@staff_view(Perm.KEEP_LEDGER)
def stock(request: StaffRequest) -> HttpResponse:
    return _stock_page(request)


@staff_view(Perm.KEEP_LEDGER)
@require_POST
def receive(request: StaffRequest) -> HttpResponse:
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        return _stock_page(request, form, status=400)
    try:
        entry = ledger_services.receive_stock(
            clinic=request.clinic, by=request.user, request=request, **form.cleaned_data
        )
    except LedgerRefused as exc:
        return _stock_page(request, form, str(exc), status=400)
    return redirect("dosing:lot", entry.lot_id)


def _lot_page(
    request: StaffRequest,
    lot: StockLot,
    *,
    status: int = 200,
    error: str = "",
    movement: Form | None = None,
    count: Form | None = None,
) -> HttpResponse:
    entries = lot.entries.select_related(
        "recorded_by", "witness", "administration__session"
    ).order_by("pk")
    return render(
        request,
        "dosing/lot.html",
        {
            "lot": lot,
            "entries": entries,
            "balance": ledger_services.balance(lot),
            "error": error,
            "movement_form": movement or MovementForm(),
            "count_form": count or CountForm(),
        },
        status=status,
    )


@staff_view(Perm.KEEP_LEDGER)
def lot_detail(request: StaffRequest, lot_id: int) -> HttpResponse:
    return _lot_page(request, get_lot(request, lot_id))


def _entry(lot: StockLot, pk: int | None, field: str, what: str, **kind: str) -> LedgerEntry | None:
    """The entry of this lot a movement points at, or a refusal naming the field."""
    if not pk:
        return None
    entry = LedgerEntry.objects.filter(pk=pk, lot=lot, **kind).first()
    if entry is None:
        raise LedgerRefused(f"{field}: there is no such {what} in this lot's ledger.")
    return entry


@staff_view(Perm.KEEP_LEDGER)
@require_POST
def movement(request: StaffRequest, lot_id: int) -> HttpResponse:
    lot = get_lot(request, lot_id)
    form = MovementForm(request.POST)
    if not form.is_valid():
        return _lot_page(request, lot, status=400, movement=form)
    data = form.cleaned_data
    try:
        witness = None
        if data["witness_email"]:
            witness = ledger_services.confirm_witness(
                clinic=request.clinic,
                email=data["witness_email"],
                password=data["witness_password"],
                recorder=request.user,
            )
        corrects = _entry(lot, data["corrects"], "corrects", "entry")
        from_draw = _entry(lot, data["from_draw"], "from_draw", "draw", kind="draw")
        ledger_services.record_movement(
            lot=lot,
            kind=EntryKind(data["kind"]),
            quantity_mg=data["quantity_mg"],
            by=request.user,
            witness=witness,
            reason=data["reason"],
            counterparty=data["counterparty"],
            corrects=corrects,
            from_draw=from_draw,
            request=request,
        )
    except LedgerRefused as exc:
        error = attach_field_error(form, str(exc))
        return _lot_page(request, lot, status=400, movement=form, error=error)
    return redirect("dosing:lot", lot.pk)


@staff_view(Perm.KEEP_LEDGER)
@require_POST
def count(request: StaffRequest, lot_id: int) -> HttpResponse:
    lot = get_lot(request, lot_id)
    form = CountForm(request.POST)
    if not form.is_valid():
        return _lot_page(request, lot, status=400, count=form)
    try:
        ledger_services.record_count(
            lot=lot, counted_mg=form.cleaned_data["counted_mg"], by=request.user, request=request
        )
    except LedgerRefused as exc:
        error = attach_field_error(form, str(exc).replace("quantity_mg:", "counted_mg:", 1))
        return _lot_page(request, lot, status=400, count=form, error=error)
    return redirect("dosing:lot", lot.pk)


@staff_view(Perm.KEEP_LEDGER)
def report(request: StaffRequest) -> HttpResponse:
    """A print-friendly inventory report for any period; each one is recorded as an export."""
    today = timezone.localdate()
    form = ReportForm(request.GET or {"start": today.replace(day=1), "end": today})
    if not form.is_valid():
        return _stock_page(request, status=400, error="Choose a start and end date for the report.")
    tz = timezone.get_current_timezone()
    start = datetime.combine(form.cleaned_data["start"], time(0), tzinfo=tz)
    end = datetime.combine(form.cleaned_data["end"] + timedelta(days=1), time(0), tzinfo=tz)
    lots = ledger_services.inventory_report(clinic=request.clinic, start=start, end=end)
    audit.record(
        request=request,
        action=Action.EXPORT,
        object_type="dosing.inventory_report",
        detail={"start": str(form.cleaned_data["start"]), "end": str(form.cleaned_data["end"])},
    )
    return render(
        request,
        "dosing/report.html",
        {
            "lots": lots,
            "draws": ledger_services.draw_accounts(clinic=request.clinic, start=start, end=end),
            "start": form.cleaned_data["start"],
            "end": form.cleaned_data["end"],
            "printed": timezone.now(),
        },
    )
