"""The clinic lead's billing figures: charges, payments, balances by age, revenue by session."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Sum

from katclinic.billing import services
from katclinic.billing.models import ChargeLine, ChargeStatus, Invoice, Payment, Refund
from katclinic.clinics.models import Clinic

AGE_BANDS = ((0, 30, "0-30 days"), (31, 60, "31-60 days"), (61, 90, "61-90 days"))
OLDEST = "over 90 days"
SESSION_KINDS = {"intranasal": "Esketamine (intranasal)", "iv": "Ketamine infusion (IV)"}


def _lines(clinic: Clinic, start: date | None, end: date | None) -> Any:
    lines = ChargeLine.objects.filter(clinic=clinic, status=ChargeStatus.POSTED)
    if start:
        lines = lines.filter(charge__date_of_service__gte=start)
    if end:
        lines = lines.filter(charge__date_of_service__lte=end)
    return lines


def charges(clinic: Clinic, *, start: date | None = None, end: date | None = None) -> list[dict]:
    rows = (
        _lines(clinic, start, end)
        .values("code__code", "code__short_description")
        .annotate(units=Sum("units"), cents=Sum("amount_cents"))
        .order_by("code__code")
    )
    return [
        {
            "code": r["code__code"],
            "description": r["code__short_description"],
            "units": r["units"],
            "amount_cents": r["cents"],
        }
        for r in rows
    ]


def payments(clinic: Clinic, *, start: date | None = None, end: date | None = None) -> list[dict]:
    received = Payment.objects.for_clinic(clinic).received()
    refunds = Refund.objects.filter(clinic=clinic)
    if start:
        received = received.filter(completed_at__date__gte=start)
        refunds = refunds.filter(refunded_at__date__gte=start)
    if end:
        received = received.filter(completed_at__date__lte=end)
        refunds = refunds.filter(refunded_at__date__lte=end)
    back = dict(
        refunds.values("payment__method")
        .annotate(c=Sum("amount_cents"))
        .values_list("payment__method", "c")
    )
    rows = received.values("method").annotate(n=Count("pk"), cents=Sum("amount_cents"))
    labels = dict(Payment._meta.get_field("method").choices or [])
    return [
        {
            "method": labels.get(r["method"], r["method"]),
            "count": r["n"],
            "amount_cents": r["cents"],
            "refunded_cents": back.get(r["method"], 0),
        }
        for r in rows.order_by("method")
    ]


def outstanding_by_age(clinic: Clinic, *, today: date) -> list[dict]:
    """Invoices with money still owed, by how long ago the service was."""
    bands: dict[str, dict[str, int]] = {
        label: {"invoices": 0, "amount_cents": 0} for *_, label in AGE_BANDS
    }
    bands[OLDEST] = {"invoices": 0, "amount_cents": 0}
    for invoice in Invoice.objects.filter(clinic=clinic).select_related("charge"):
        owed = services.invoice_balance(invoice)
        if owed <= 0:
            continue
        age = (today - invoice.charge.date_of_service).days
        label = next((lab for low, high, lab in AGE_BANDS if low <= age <= high), OLDEST)
        bands[label]["invoices"] += 1
        bands[label]["amount_cents"] += owed
    return [{"age": label, **values} for label, values in bands.items()]


def revenue_by_session_kind(
    clinic: Clinic, *, start: date | None = None, end: date | None = None
) -> list[dict]:
    rows = (
        _lines(clinic, start, end)
        .values("charge__session_kind")
        .annotate(sessions=Count("charge", distinct=True), cents=Sum("amount_cents"))
        .order_by("charge__session_kind")
    )
    return [
        {
            "kind": SESSION_KINDS.get(
                r["charge__session_kind"], r["charge__session_kind"] or "Other"
            ),
            "sessions": r["sessions"],
            "amount_cents": r["cents"],
        }
        for r in rows
    ]


TABLES = {
    "charges": ("Charges by code", ["code", "description", "units", "amount_cents"]),
    "payments": ("Payments by method", ["method", "count", "amount_cents", "refunded_cents"]),
    "outstanding": ("Outstanding balances by age", ["age", "invoices", "amount_cents"]),
    "revenue": ("Revenue per session type", ["kind", "sessions", "amount_cents"]),
}


def table(
    key: str, clinic: Clinic, *, today: date, start: date | None, end: date | None
) -> list[dict]:
    if key == "charges":
        return charges(clinic, start=start, end=end)
    if key == "payments":
        return payments(clinic, start=start, end=end)
    if key == "outstanding":
        return outstanding_by_age(clinic, today=today)
    if key == "revenue":
        return revenue_by_session_kind(clinic, start=start, end=end)
    raise KeyError(key)
