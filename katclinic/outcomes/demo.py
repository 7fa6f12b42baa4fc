"""Demo outcomes: fill the rollup from the demo's courses, sessions and questionnaires."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import batched

from django.db.models import Min
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.demo.generator import DemoWorld
from katclinic.measures.models import Course, Response
from katclinic.outcomes import services
from katclinic.patients.models import Patient


def build(world: DemoWorld) -> None:
    """Runs after the measures and dosing builders, so every demo course has its row."""
    del world  # the rows are computed from what the other builders stored
    services.refresh_courses(Course.objects.order_by("pk"))


def generate_course_outcomes(patients: Sequence[Patient], by: User) -> int:
    """Benchmark data: a course for each patient without one, starting on the day of their
    first PHQ-9, then the rollup of every such course. Returns the rows written."""
    clinic_of = {p.pk: p.clinic_id for p in patients}
    made: list[Course] = []
    for chunk in batched(clinic_of, 2000):
        have = set(Course.objects.filter(patient_id__in=chunk).values_list("patient_id", flat=True))
        first = (
            Response.objects.filter(patient_id__in=chunk, instrument_key="phq9")
            .values("patient_id")
            .annotate(first=Min("submitted_at"))
            .values_list("patient_id", "first")
        )
        made += Course.objects.bulk_create(
            Course(
                clinic_id=clinic_of[pid],
                patient_id=pid,
                started_on=timezone.localdate(start),
                created_by=by,
            )
            for pid, start in first
            if pid not in have
        )
    return services.refresh_courses(made)
