"""The prescriber's Today section for in-session alerts that need them: every reading that
said to stop dosing or to notify the prescriber, until someone acknowledges it."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse

from katclinic.clinics.permissions import Role
from katclinic.core.worklists import Item, Section
from katclinic.dosing.models import InSessionAlert
from katclinic.dosing.monitoring_services import PRESCRIBER_LEVELS

LIMIT = 10
FINISHED = ("discharged", "stopped_early")


def prescriber_alerts(request: HttpRequest) -> Sequence[Item]:
    clinic = request.clinic  # type: ignore[attr-defined]
    alerts = (
        InSessionAlert.objects.filter(
            clinic=clinic, level__in=PRESCRIBER_LEVELS, acknowledged_at=None
        )
        .exclude(session__state__in=FINISHED)
        .select_related("session__patient")
        .order_by("raised_at", "pk")[:LIMIT]
    )
    return [
        Item(
            f"{a.session.chair} · {a.session.patient.full_name}: {a.get_level_display()}",
            reverse("dosing:session", args=[a.session_id]),
            f"{a.measure.replace('_', ' ')} {a.value} (limit {a.limit}). {a.action}",
            "danger",
        )
        for a in alerts
    ]


SECTION = Section(
    "in_session_alerts",
    "Dosing sessions that need the prescriber",
    frozenset({Role.PRESCRIBER}),
    prescriber_alerts,
    empty="No dosing session is waiting for a prescriber.",
    order=5,
)
