"""The Today section of prior authorizations that need someone: ending soon, running out of
units, or naming a billing code that is being replaced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm, Role
from katclinic.clinics.registry import SettingValues, all_settings
from katclinic.core.worklists import Item, Section
from katclinic.insurance import clinic_settings as keys
from katclinic.insurance import rules
from katclinic.insurance.models import AuthStatus, PriorAuthorization

VIEW_PERM = Perm.MANAGE_COVERAGE
LIMIT = 10


def _auth_items(auth: PriorAuthorization, today: date, values: SettingValues) -> list[Item]:
    """What one approved authorization needs: a new request for a replaced code, renewal
    before it ends, more units before they run out."""
    rule = auth.as_rule()
    url = reverse("insurance:authorization", args=[auth.pk])
    who = f"{auth.patient.full_name} · {auth.coverage.payer_name}"
    found: list[Item] = []
    change = rules.code_change(rule, today=today, notice_days=values[keys.CODE_CHANGE_DAYS])
    if change is not None:
        found.append(
            Item(
                f"{who}: new authorization needed for {change.new}",
                url,
                f"Authorization {auth.number} names {change.old}; sessions from "
                f"{change.effective:%d %b %Y} are billed as {change.new}.",
                "danger" if today >= change.effective else "warn",
            )
        )
    if rules.expires_soon(rule, today=today, days=values[keys.EXPIRY_DAYS]):
        left = (rule.valid_to - today).days if rule.valid_to else 0
        found.append(
            Item(
                f"{who}: authorization ends in {left} day{'s' if left != 1 else ''}",
                url,
                f"Authorization {auth.number} is approved to {rule.valid_to:%d %b %Y}.",
                "warn",
            )
        )
    if rules.units_low(rule, percent=values[keys.UNITS_LOW_PERCENT]):
        found.append(
            Item(
                f"{who}: {rule.remaining} of {rule.approved_units} approved units left",
                url,
                f"Authorization {auth.number}: ask the payer for more units.",
                "warn",
            )
        )
    return found


def authorization_alerts(clinic: Clinic, today: date) -> list[Item]:
    """Every approved authorization of `clinic` that needs renewing or a new request."""
    values = all_settings(clinic)
    auths = (
        PriorAuthorization.objects.for_clinic(clinic)
        .filter(status=AuthStatus.APPROVED, valid_to__gte=today)
        .with_used()
        .select_related("patient", "coverage")
        .order_by("valid_to", "pk")
    )
    return [item for auth in auths for item in _auth_items(auth, today, values)]


def _items(request: HttpRequest) -> Sequence[Item]:
    clinic = request.clinic  # type: ignore[attr-defined]
    return authorization_alerts(clinic, timezone.localdate())[:LIMIT]


SECTIONS = [
    Section(
        "insurance_authorizations",
        "Prior authorizations to renew",
        frozenset({Role.FRONT_DESK, Role.ADMIN, Role.BILLING}),
        _items,
        empty="No prior authorization needs renewing.",
        order=40,
    )
]
