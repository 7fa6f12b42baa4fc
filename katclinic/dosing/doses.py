"""The doses given, as other apps ask about them: when the patient last had one, wherever it
was given, and what was given under a plan."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from katclinic.athome.models import HomeSession
from katclinic.dosing.models import Administration
from katclinic.lib.compiled import CompiledValues
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan


def last_dose_at(*, patient: Patient) -> datetime | None:
    """The start of the patient's latest ketamine or esketamine dose, in clinic or at home.

    Adjuncts (such as an antiemetic) are not doses of the course and do not count.
    """
    in_clinic = (
        Administration.objects.filter(session__patient_id=patient.pk, is_adjunct=False)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    at_home = (
        HomeSession.objects.filter(patient_id=patient.pk)
        .taken()
        .order_by("-taken_at")
        .values_list("taken_at", flat=True)
        .first()
    )
    known = [t for t in (in_clinic, at_home) if t is not None]
    return max(known) if known else None


def _given_query(plan: int) -> QuerySet[Administration, tuple[Any, ...]]:
    rows = Administration.objects.filter(session__plan_id=plan, is_adjunct=False)
    return rows.order_by("started_at").values_list("started_at", "dose_mg")


_GIVEN = CompiledValues(Administration, _given_query, plan=int)


def administered_doses(plan: Plan) -> list[tuple[datetime, Decimal]]:
    """(started at, mg) of each dose given under `plan`, for the protocols app's exposure."""
    return [(at, mg) for at, mg in _GIVEN(plan=plan.pk)]
