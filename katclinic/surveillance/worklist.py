"""The prescriber's home: open review tasks of the clinic, oldest first."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.core.worklists import Item, Section
from katclinic.surveillance.models import ReviewKind, ReviewTask

LIMIT = 5
URGENT = {ReviewKind.POSITIVE_SCREEN, ReviewKind.EXPOSURE}


def open_review_tasks(request: HttpRequest) -> Sequence[Item]:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return []
    rows = (
        ReviewTask.objects.for_clinic(clinic)
        .open()
        .select_related("patient")
        .order_by("raised_at", "pk")[:LIMIT]
    )
    return [
        Item(
            title=f"{task.patient.full_name}: {task.get_kind_display()}",
            url=reverse("surveillance:review", args=[task.patient_id]),
            detail=f"raised {timezone.localtime(task.raised_at):%Y-%m-%d}. {task.reason}",
            level="warn" if task.kind in URGENT else "",
        )
        for task in rows
    ]


SECTION = Section(
    key="surveillance.review_tasks",
    title="Surveillance: review tasks",
    roles=PERMISSIONS[Perm.REVIEW_SURVEILLANCE],
    items=open_review_tasks,
    empty="No open review tasks.",
    link="/surveillance/",
    order=60,
)
