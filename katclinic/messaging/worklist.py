"""The worklist section of secure messaging: patients' messages waiting for a reply."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.timesince import timesince

from katclinic.clinics.permissions import Role
from katclinic.core.worklists import Item, Section
from katclinic.messaging.models import Thread

LIMIT = 10


def waiting_messages(request: HttpRequest) -> Sequence[Item]:
    """Threads waiting for a reply that are the user's or no one's, the longest first."""
    rows = (
        Thread.objects.for_clinic(request.clinic)  # type: ignore[attr-defined]
        .waiting()
        .filter(Q(assigned_to=request.user) | Q(assigned_to__isnull=True))
        .select_related("patient")
        .order_by("waiting_since")[:LIMIT]
    )
    now = timezone.now()
    return [
        Item(
            f"{t.patient.full_name}: message waiting",
            reverse("messaging:thread", args=[t.pk]),
            f"waiting {timesince(t.waiting_since or now, now)}"
            + ("" if t.assigned_to_id else ", not assigned"),
            "warn" if t.waiting_since and (now - t.waiting_since).days >= 2 else "",
        )
        for t in rows
    ]


SECTION = Section(
    "messages_waiting",
    "Patient messages waiting for a reply",
    frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}),
    waiting_messages,
    empty="No patient message is waiting for you.",
    # Lazy: the URLconf must not be imported while apps are still starting.
    link=reverse_lazy("messaging:inbox"),  # type: ignore[arg-type]
    order=40,
)
