"""The outcomes section of the prescriber's and admin's home: courses past the end of
induction without a score in the window, so the figure is not quietly missing."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.core.worklists import Item, Section
from katclinic.outcomes.models import CourseOutcome

LIMIT = 5


def missing_induction_scores(request: HttpRequest) -> Sequence[Item]:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return []
    rows = (
        CourseOutcome.objects.filter(
            clinic=clinic,
            ended_on__isnull=True,
            induction_due_on__lt=timezone.localdate(),
            induction_total__isnull=True,
            baseline_total__isnull=False,
        )
        .select_related("patient")
        .order_by("-induction_due_on")[:LIMIT]
    )
    return [
        Item(
            title=row.patient.full_name,
            url=reverse("outcomes:progress", args=[row.patient_id]),
            detail=f"no {row.instrument.upper()} score around day {row.induction_days}",
            level="warn",
        )
        for row in rows
    ]


SECTION = Section(
    key="outcomes.missing_induction",
    title="Outcomes: end-of-induction scores missing",
    roles=PERMISSIONS[Perm.VIEW_OUTCOMES],
    items=missing_induction_scores,
    empty="Every open course past induction has its score.",
    link="/outcomes/",
    order=80,
)
