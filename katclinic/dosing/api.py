"""Read-only JSON for dosing sessions (scope sessions:read)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import NinjaJSONEncoder

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import deny, get_patient_for_user
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import Administration, Checkpoint, DosingSession
from katclinic.lib import rows

router = Router(tags=["sessions"])
# What django-ninja's JSON renderer answers with.
JSON_CONTENT = "application/json; charset=utf-8"


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


# The columns each part of the answer shows, named once by its schema (they are the models'
# own attribute names), in the schema's order.
_SESSION = tuple(SessionOut.model_fields)
_READING = tuple(CheckpointOut.model_fields)
_DOSE = tuple(AdministrationOut.model_fields)


def _shown(
    model: type[Model], row: Sequence[object], at: int, only: tuple[str, ...]
) -> dict[str, object]:
    """The ``only`` columns of ``row[at:]``, as the ORM converts them, in ``only``'s order."""
    found = dict(zip(rows.attnames(model, only), rows.convert(model, row, at, only), strict=True))
    return {name: found[name] for name in only}


def session_with_readings(
    session_id: int, recent: int | None
) -> tuple[DosingSession, dict[str, object], list[dict[str, object]]] | None:
    """``DosingSession.objects.filter(pk=session_id).first()`` (the columns ``SessionOut``
    shows) and its readings as ``CheckpointOut`` shows them: all of
    ``Checkpoint.objects.filter(session=...)``, oldest first, or with ``recent`` its
    ``order_by("-taken_at", "-pk")[:recent]`` put oldest first. One plain statement: the
    session's monitor asks for it again and again (see katclinic.lib.rows)."""
    if not -(2**63) <= session_id < 2**63:
        return None  # no row has such an id, and the database could not bind it
    limit, params = (
        ("", [session_id, session_id])
        if recent is None
        else (" LIMIT %s", [session_id, recent, session_id])
    )
    sql = (
        f"SELECT {rows.columns(DosingSession, 's', _SESSION)}, {rows.columns(Checkpoint, 'r', _READING)} "  # noqa: S608
        f"FROM {rows.table(DosingSession)} s LEFT JOIN ("
        f"SELECT {rows.columns(Checkpoint, 'c', _READING)} FROM {rows.table(Checkpoint)} c "
        f"WHERE c.session_id = %s ORDER BY c.taken_at DESC, c.id DESC{limit}"
        ") r ON 1 = 1 WHERE s.id = %s ORDER BY r.taken_at, r.id"
    )
    found = rows.fetch_all(DosingSession, sql, params)
    if not found:
        return None
    session = rows.hydrate(DosingSession, found[0], only=_SESSION)
    shown = _shown(DosingSession, found[0], 0, _SESSION)
    at = rows.width(DosingSession, _SESSION)
    readings = [_shown(Checkpoint, row, at, _READING) for row in found if row[at] is not None]
    return session, shown, readings


def session_doses(session_id: int) -> list[dict[str, object]]:
    """``Administration.objects.filter(session=...)`` (its own order: started, then id) as
    ``AdministrationOut`` shows them, in one plain statement (see katclinic.lib.rows)."""
    sql = (
        f"SELECT {rows.columns(Administration, 'a', _DOSE)} FROM {rows.table(Administration)} a "  # noqa: S608
        "WHERE a.session_id = %s ORDER BY a.started_at, a.id"
    )
    return [
        _shown(Administration, row, 0, _DOSE)
        for row in rows.fetch_all(Administration, sql, [session_id])
    ]


@router.get("/{session_id}", response=SessionDetailOut, url_name="session_detail")
@requires(Scope.SESSIONS_READ)
def session_detail(
    request: HttpRequest,
    session_id: int,
    recent: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> HttpResponse:
    """A session with its administrations and its checkpoints, oldest first.

    `recent=N` gives only the N latest checkpoints (still oldest first), as a monitor that
    shows the last readings asks for them.
    """
    found = session_with_readings(session_id, recent)
    if found is None:
        deny(request, reason="no such session", not_found=True)
    session, shown, readings = found
    patient = get_patient_for_user(request, session.patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=session,
        detail={"via": "api"},
    )
    # The rows are already what the schema says (its own columns, the ORM's values), so the
    # answer is encoded as django-ninja encodes a validated one, without validating it again.
    body = shown | {"administrations": session_doses(session.pk), "checkpoints": readings}
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type=JSON_CONTENT)
