"""JSON API of surveillance: a patient's cumulative exposure, review tasks and decisions.

Staff only: review tasks and decisions are the prescriber's working record.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.patients.models import Patient
from katclinic.surveillance import exposure
from katclinic.surveillance.models import ReviewTask, TreatmentDecision
from katclinic.surveillance.services import thresholds
from katclinic.surveillance.sources import dose_events

router = Router(tags=["surveillance"])


class TotalOut(Schema):
    mg: Decimal
    doses: int
    by_route: dict[str, Decimal]


class ExposureOut(Schema):
    at: datetime
    last_30_days: TotalOut
    last_12_months: TotalOut
    review_above_mg: dict[str, Decimal]


class TaskOut(Schema):
    id: int
    kind: str
    reason: str
    state: str
    source_type: str
    source_id: int
    raised_at: datetime
    closed_at: datetime | None
    outcome: str


class DecisionOut(Schema):
    id: int
    decision: str
    reason: str
    course_id: int | None
    decided_by_id: int
    decided_at: datetime


def _patient(request: HttpRequest, patient_id: int, section: str) -> Patient:
    require_perm(request, Perm.VIEW_CLINICAL)
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": section, "via": "api"},
    )
    return patient


@router.get(
    "/patients/{patient_id}/exposure", response=ExposureOut, url_name="surveillance_exposure"
)
@requires(Scope.SESSIONS_READ)
def patient_exposure(request: HttpRequest, patient_id: int) -> Any:
    """Ketamine given in the rolling 30 days and 12 months to now, by route."""
    patient = _patient(request, patient_id, "exposure")
    now = timezone.now()
    result = exposure.exposure(dose_events(patient, until=now), at=now)
    return {
        "at": now,
        "last_30_days": result.last_30_days,
        "last_12_months": result.last_12_months,
        "review_above_mg": {str(k): v for k, v in thresholds(patient).items()},
    }


@router.get(
    "/patients/{patient_id}/review-tasks", response=list[TaskOut], url_name="surveillance_tasks"
)
@requires(Scope.MEASURES_READ)
def patient_tasks(request: HttpRequest, patient_id: int, include_closed: bool = False) -> Any:
    """The patient's open review tasks (or all, newest first, up to 200)."""
    patient = _patient(request, patient_id, "review tasks")
    tasks = ReviewTask.objects.filter(patient=patient).order_by("-raised_at", "-pk")
    return (tasks if include_closed else tasks.open())[:200]


@router.get(
    "/patients/{patient_id}/decisions",
    response=list[DecisionOut],
    url_name="surveillance_decisions",
)
@requires(Scope.PLANS_READ)
def patient_decisions(request: HttpRequest, patient_id: int) -> Any:
    """Continue, taper or stop decisions with their reasons, newest first."""
    patient = _patient(request, patient_id, "treatment decisions")
    return TreatmentDecision.objects.filter(patient=patient).order_by("-decided_at", "-pk")[:200]
