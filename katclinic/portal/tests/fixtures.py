"""Rows the portal tests stand on, made with plain `objects.create` so these tests do not
depend on how the other apps' services book, plan or dose."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlanStatus, ProtocolStatus, ProtocolVersion
from katclinic.protocols.schema import load_library
from katclinic.scheduling.models import Appointment, Chair, Room


def plan(t: Any, patient: Patient, key: str = "esketamine_trd") -> Plan:
    protocol = load_library()[key]
    version, _ = ProtocolVersion.objects.get_or_create(
        clinic=patient.clinic,
        key=key,
        version=protocol.version,
        defaults={
            "title": protocol.title,
            "route": protocol.route,
            "status": ProtocolStatus.ACTIVE,
            "data": json.loads(protocol.model_dump_json()),
        },
    )
    return Plan.objects.create(
        clinic=patient.clinic,
        patient=patient,
        protocol_version=version,
        status=PlanStatus.ACTIVE,
        created_by=t.paula,
    )


def appointment(
    t: Any,
    patient: Patient,
    *,
    days: int = 2,
    kind: str = "dosing",
    with_plan: bool = True,
    state: str = "booked",
) -> Appointment:
    start = timezone.now() + timedelta(days=days)
    chair = Chair.objects.filter(clinic=patient.clinic).first()
    if chair is None:
        room = Room.objects.create(clinic=patient.clinic, name="Treatment room")
        chair = Chair.objects.create(clinic=patient.clinic, room=room, name="Chair 1")
    return Appointment.objects.create(
        clinic=patient.clinic,
        patient=patient,
        kind=kind,
        staff=t.nick,
        start=start,
        room=chair.room if kind == "dosing" else None,
        chair=chair if kind == "dosing" else None,
        end=start + timedelta(hours=2),
        state=state,
        plan=plan(t, patient) if with_plan else None,
        created_by=t.alice,
    )


def session(
    t: Any,
    patient: Patient,
    *,
    days_ago: int = 3,
    chair: str = "Chair 1",
    state: str = "discharged",
) -> Any:
    from katclinic.dosing.models import DosingSession

    at = timezone.now() - timedelta(days=days_ago)
    return DosingSession.objects.create(
        clinic=patient.clinic,
        patient=patient,
        plan=plan(t, patient),
        chair=chair,
        route="intranasal",
        scheduled_for=at,
        state=state,
        dose_started_at=at if state != "scheduled" else None,
        discharged_at=at + timedelta(hours=2) if state == "discharged" else None,
        created_by=t.nick,
    )
