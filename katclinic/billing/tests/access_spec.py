"""Who may reach each billing page. Objects are made fresh for each request, so a write
allowed for one role does not change what the next role is asked to do."""

from __future__ import annotations

from datetime import date
from typing import Any

from katclinic.access_spec import Url, patient_kwargs
from katclinic.clinics.permissions import Perm


def _charge(t: Any, *, posted: bool = False) -> Any:
    from django.utils import timezone

    from katclinic.billing.codes import code_for
    from katclinic.billing.models import Charge, ChargeLine, ChargeStatus, Invoice

    status = ChargeStatus.POSTED if posted else ChargeStatus.PROPOSED
    now = timezone.now() if posted else None
    charge = Charge.objects.create(
        clinic=t.clinic,
        patient=t.pat,
        date_of_service=date(2026, 3, 2),
        session_kind="iv",
        status=status,
        posted_at=now,
        posted_by=t.adam if posted else None,
        created_by=t.adam,
    )
    ChargeLine.objects.create(
        clinic=t.clinic,
        charge=charge,
        code=code_for("iv_infusion_first_hour", on=charge.date_of_service),
        units=1,
        max_units=1,
        unit_price_cents=30000,
        amount_cents=30000,
        diagnosis_codes=["F33.2"],
        status=status,
        posted_at=now,
        created_by=t.adam,
    )
    if posted:
        Invoice.objects.create(
            clinic=t.clinic,
            patient=t.pat,
            charge=charge,
            number=f"T-{charge.pk}",
            issued_by=t.adam,
        )
    return charge


def _payment(t: Any, **extra: Any) -> Any:
    from django.utils import timezone

    from katclinic.billing.models import Payment

    values = {
        "method": "cash",
        "status": "completed",
        "completed_at": timezone.now(),
    } | extra
    return Payment.objects.create(
        clinic=t.clinic, patient=t.pat, amount_cents=10000, received_by=t.alice, **values
    )


def _session(t: Any) -> dict[str, Any]:
    from katclinic.billing.tests.helpers import discharged_fast

    return {"session_id": discharged_fast(t).pk}


def _line(t: Any, *, posted: bool = False) -> dict[str, Any]:
    pk = _charge(t, posted=posted).lines.get().pk
    t.matrix_line = pk
    return {"line_id": pk}


def _adjust(t: Any) -> dict[str, Any]:
    prefix = f"l{t.matrix_line}"
    return {
        f"{prefix}-units": "1",
        f"{prefix}-unit_price": "280.00",
        f"{prefix}-diagnoses": "F33.2",
        f"{prefix}-reason": "Clinic price",
    }


REASON = {"reason": "Matrix check"}

SPEC: dict[str, Url] = {
    "billing:home": Url(Perm.VIEW_BILLING),
    "billing:propose": Url(Perm.POST_CHARGES, kwargs=_session, method="POST", clinic_object=True),
    "billing:charge": Url(
        Perm.VIEW_BILLING, kwargs=lambda t: {"charge_id": _charge(t).pk}, clinic_object=True
    ),
    "billing:add_line": Url(
        Perm.POST_CHARGES,
        kwargs=lambda t: {"charge_id": _charge(t).pk},
        method="POST",
        data=lambda t: {"code": "99213", "units": "1", "unit_price": "150.00", **REASON},
        clinic_object=True,
    ),
    "billing:post_charge": Url(
        Perm.POST_CHARGES,
        kwargs=lambda t: {"charge_id": _charge(t).pk},
        method="POST",
        clinic_object=True,
    ),
    "billing:superbill": Url(
        Perm.VIEW_BILLING,
        kwargs=lambda t: {"charge_id": _charge(t, posted=True).pk},
        clinic_object=True,
    ),
    "billing:adjust_line": Url(
        Perm.POST_CHARGES,
        kwargs=_line,
        method="POST",
        data=_adjust,
        clinic_object=True,
    ),
    "billing:drop_line": Url(
        Perm.POST_CHARGES, kwargs=_line, method="POST", data=lambda t: REASON, clinic_object=True
    ),
    "billing:reverse_line": Url(
        Perm.POST_CHARGES,
        kwargs=lambda t: _line(t, posted=True),
        method="POST",
        data=lambda t: REASON,
        clinic_object=True,
    ),
    "billing:account": Url(Perm.VIEW_BILLING, kwargs=patient_kwargs, clinic_object=True),
    "billing:take_payment": Url(
        Perm.TAKE_PAYMENT,
        kwargs=patient_kwargs,
        method="POST",
        data=lambda t: {"amount": "20.00", "method": "cash"},
        clinic_object=True,
    ),
    "billing:send_link": Url(
        Perm.TAKE_PAYMENT,
        kwargs=patient_kwargs,
        method="POST",
        data=lambda t: {"amount": "20.00", "email": "pat@example.org"},
        clinic_object=True,
    ),
    "billing:confirm_link": Url(
        Perm.TAKE_PAYMENT,
        kwargs=lambda t: {
            "payment_id": _payment(
                t,
                method="card",
                status="pending",
                completed_at=None,
                provider="console",
                provider_reference="console_matrix",
            ).pk
        },
        method="POST",
        clinic_object=True,
    ),
    "billing:refund": Url(
        Perm.REFUND_PAYMENT,
        kwargs=lambda t: {"payment_id": _payment(t).pk},
        method="POST",
        data=lambda t: {"amount": "5.00", **REASON},
        clinic_object=True,
    ),
    "billing:receipt": Url(
        Perm.VIEW_BILLING, kwargs=lambda t: {"payment_id": _payment(t).pk}, clinic_object=True
    ),
    "billing:fees": Url(Perm.MANAGE_FEES),
    "billing:fees_new": Url(
        Perm.MANAGE_FEES,
        method="POST",
        data=lambda t: {
            "name": "Self-pay",
            "valid_from": "2026-01-01",
            "fees": "96365 300.00\nJ0013 11.00",
        },
    ),
    "billing:reports": Url(Perm.VIEW_BILLING_REPORTS),
    "billing:report_csv": Url(Perm.VIEW_BILLING_REPORTS, kwargs=lambda t: {"table": "charges"}),
    "billing:my_statements": Url("patient_self", kwargs=patient_kwargs),
    "billing:my_superbill": Url(
        "patient_self",
        kwargs=lambda t: {"patient_id": t.pat.pk, "charge_id": _charge(t, posted=True).pk},
    ),
}
