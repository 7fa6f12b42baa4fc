"""Today-page sections for a clinician's own day: their visits today, and their notes due."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Role
from katclinic.core.worklists import Item, Section
from katclinic.visitnotes import queue

LIMIT = 10


def my_visits_today(request: HttpRequest) -> Sequence[Item]:
    staff = cast("StaffRequest", request)
    clinic, user = staff.clinic, staff.user
    items = []
    for a in queue.visits_today(clinic, user)[:LIMIT]:
        start = timezone.localtime(a.start)
        place = f" · {a.place}" if a.place else ""
        items.append(
            Item(
                f"{start:%H:%M} {a.patient.full_name}: {a.get_kind_display()}",
                reverse("visitnotes:chart", args=[a.patient_id]),
                f"{a.get_state_display()}{place}",
            )
        )
    return items


def my_notes_due(request: HttpRequest) -> Sequence[Item]:
    staff = cast("StaffRequest", request)
    clinic, user = staff.clinic, staff.user
    roles = staff.roles
    today = timezone.localdate()
    items = []
    for a in queue.notes_due(clinic, user, roles)[:LIMIT]:
        start = timezone.localtime(a.start)
        days = (today - start.date()).days
        items.append(
            Item(
                f"Note due: {a.patient.full_name}, {a.get_kind_display()}",
                reverse("visitnotes:new", args=[a.patient_id]) + f"?appointment={a.pk}",
                f"Visit {start:%Y-%m-%d %H:%M}",
                "warn" if days >= 1 else "",
            )
        )
    return items


TODAY = Section(
    "my_visits_today",
    "My visits today",
    frozenset({Role.THERAPIST}),
    my_visits_today,
    empty="No visits booked with you today.",
    link="/visitnotes/",
    order=10,
)
NOTES_DUE = Section(
    "my_notes_due",
    "Visit notes due",
    frozenset({Role.THERAPIST, Role.PRESCRIBER, Role.NURSE}),
    my_notes_due,
    empty="Every visit of yours has a signed note.",
    link="/visitnotes/",
    order=11,
)
