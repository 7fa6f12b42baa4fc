from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user
from katclinic.clinics.permissions import Perm
from katclinic.protocols.models import Plan

router = Router(tags=["plans"])


class PlannedDoseOut(Schema):
    number: int
    phase: str
    planned_on: date
    dose_mg: Decimal


class PlanVersionOut(Schema):
    number: int
    kind: str
    reason: str
    phase: str
    dose_mg: Decimal
    min_mg: Decimal
    max_mg: Decimal
    weight_kg: Decimal
    signed_at: datetime | None
    content_hash: str


class PlanOut(Schema):
    id: int
    patient_id: int
    protocol_key: str
    protocol_version: int
    status: str
    versions: list[PlanVersionOut]
    doses: list[PlannedDoseOut]


def _plan_out(plan: Plan) -> PlanOut:
    versions = list(plan.versions.all())
    current = next((v for v in versions if v.signed_at is not None), None)
    return PlanOut(
        id=plan.pk,
        patient_id=plan.patient_id,
        protocol_key=plan.protocol_version.key,
        protocol_version=plan.protocol_version.version,
        status=plan.status,
        versions=[PlanVersionOut.from_orm(v) for v in versions],
        doses=[PlannedDoseOut.from_orm(d) for d in current.doses.all()] if current else [],
    )


@router.get("/patient/{patient_id}", response=list[PlanOut], url_name="plans_for_patient")
@requires(Scope.PLANS_READ)
def patient_plans(request: HttpRequest, patient_id: int) -> list[PlanOut]:
    """A patient's treatment plans with every version (signed and draft) and the planned doses."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": "api", "section": "plans"},
    )
    plans = (
        Plan.objects.filter(patient=patient)
        .select_related("protocol_version")
        .prefetch_related("versions")
    )
    return [_plan_out(plan) for plan in plans]
