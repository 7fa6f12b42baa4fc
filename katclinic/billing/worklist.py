"""The billing section of the front desk's, billing clerk's and admin's home: finished
sessions still without posted charges, oldest first."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse

from katclinic.billing.models import Charge, ChargeStatus
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.core.worklists import Item, Section
from katclinic.dosing.models import DosingSession
from katclinic.dosing.statemachine import SessionState

LIMIT = 5


def unbilled(request: HttpRequest) -> Sequence[Item]:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return []
    items = [
        Item(
            title=charge.patient.full_name,
            url=reverse("billing:charge", args=[charge.pk]),
            detail=f"charges proposed for {charge.date_of_service:%Y-%m-%d}, not posted",
            level="warn",
        )
        for charge in Charge.objects.for_clinic(clinic)
        .filter(status=ChargeStatus.PROPOSED)
        .select_related("patient")
        .order_by("date_of_service", "pk")[:LIMIT]
    ]
    waiting = (
        DosingSession.objects.for_clinic(clinic)
        .filter(state=SessionState.DISCHARGED, charge__isnull=True)
        .select_related("patient")
        .order_by("discharged_at")[: LIMIT - len(items)]
    )
    items += [
        Item(
            title=session.patient.full_name,
            url=reverse("billing:home"),
            detail="session completed, no charges yet",
        )
        for session in waiting
    ]
    return items


SECTION = Section(
    key="billing.unbilled",
    title="Billing: sessions to charge",
    roles=PERMISSIONS[Perm.VIEW_BILLING],
    items=unbilled,
    empty="Every completed session is charged.",
    link="/billing/",
)
