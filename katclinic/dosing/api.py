"""Read-only JSON for dosing sessions (scope sessions:read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import deny, get_patient_for_user
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import Administration, Checkpoint, DosingSession

router = Router(tags=["sessions"])


class SessionOut(Schema):
    id: int
    patient_id: int
    plan_id: int
    chair: str
    route: str
    state: str
    scheduled_for: datetime
    dose_started_at: datetime | None
    discharged_at: datetime | None
    stop_reason: str


class AdministrationOut(Schema):
    id: int
    is_adjunct: bool
    product: str
    lot_number: str
    dose_mg: Decimal
    dose_mg_per_kg: Decimal | None
    route: str
    device_number: int | None
    started_at: datetime
    ended_at: datetime | None


class CheckpointOut(Schema):
    id: int
    label: str
    taken_at: datetime
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    respiratory_rate: int | None
    moaas: int | None
    cadss6: int | None


class SessionDetailOut(SessionOut):
    administrations: list[AdministrationOut]
    checkpoints: list[CheckpointOut]


@router.get("/patients/{patient_id}", response=list[SessionOut], url_name="sessions_of_patient")
@requires(Scope.SESSIONS_READ)
def sessions_of_patient(request: HttpRequest, patient_id: int) -> list[DosingSession]:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": "api", "section": "sessions"},
    )
    return list(DosingSession.objects.filter(patient=patient, clinic_id=patient.clinic_id))


@router.get("/{session_id}", response=SessionDetailOut, url_name="session_detail")
@requires(Scope.SESSIONS_READ)
def session_detail(
    request: HttpRequest,
    session_id: int,
    recent: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> dict[str, object]:
    """A session with its administrations and its checkpoints, oldest first.

    `recent=N` gives only the N latest checkpoints (still oldest first), as a monitor that
    shows the last readings asks for them.
    """
    session = DosingSession.objects.filter(pk=session_id).first()
    if session is None:
        deny(request, reason="no such session", not_found=True)
    patient = get_patient_for_user(request, session.patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=session,
        detail={"via": "api"},
    )
    checkpoints = Checkpoint.objects.filter(session=session)
    if recent is None:
        readings = list(checkpoints)
    else:
        readings = list(checkpoints.order_by("-taken_at", "-pk")[:recent])[::-1]
    fields = SessionOut.model_fields
    return {name: getattr(session, name) for name in fields} | {
        "administrations": list(Administration.objects.filter(session=session)),
        "checkpoints": readings,
    }
