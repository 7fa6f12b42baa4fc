"""Shared set-up for protocol and scheduling tests: opening hours, library, a weight, plans."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.intake.tests.factories import ready_for
from katclinic.protocols import services
from katclinic.protocols.models import PlanVersion, ProtocolVersion

WEEKDAYS_9_TO_6 = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def ready_clinic(t: Any) -> None:
    """Idempotent: opening hours and the shipped library in clinic A, and pat weighs 70 kg."""
    if not t.clinic.opening_hours:
        t.clinic.opening_hours = WEEKDAYS_9_TO_6
        t.clinic.save(update_fields=["opening_hours"])
    services.load_shipped_protocols(clinic=t.clinic)
    if not t.pat.weights.exists():
        t.pat.weights.create(
            clinic=t.clinic,
            recorded_by=t.nick,
            measured_on=timezone.localdate(),
            weight_kg=Decimal("70.0"),
            entered_value=Decimal("70.0"),
            entered_unit="kg",
        )


def protocol(t: Any, key: str = "iv_ketamine_elektd") -> ProtocolVersion:
    ready_clinic(t)
    return ProtocolVersion.objects.get(clinic=t.clinic, key=key, status="active")


def next_monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def draft(t: Any, key: str = "iv_ketamine_elektd", **extra: Any) -> PlanVersion:
    existing = PlanVersion.objects.filter(
        plan__patient=t.pat, plan__protocol_version__key=key, signed_at=None
    ).first()
    if existing is not None:
        return existing
    consented(t, key)
    return services.create_plan(
        patient=t.pat,
        protocol_version=protocol(t, key),
        phase="induction",
        start_on=next_monday(),
        requested_mg=None,
        by=t.paula,
        **extra,
    )


def consented(t: Any, key: str = "iv_ketamine_elektd") -> None:
    """Pat's real consent and signed eligible decision for the route of protocol `key`."""
    ready_for(t.pat, route=protocol(t, key).route, by=t.paula)


def signed(t: Any, key: str = "iv_ketamine_elektd") -> PlanVersion:
    version = (
        PlanVersion.objects.filter(plan__patient=t.pat, plan__protocol_version__key=key)
        .exclude(signed_at=None)
        .first()
    )
    return version or services.sign_plan(version=draft(t, key), prescriber=t.paula)
