"""The in-clinic dose source: ketamine given in dosing sessions, for cumulative exposure."""

from __future__ import annotations

from datetime import datetime

from katclinic.dosing.models import Administration
from katclinic.patients.models import Patient
from katclinic.surveillance.exposure import DoseEvent

SOURCE_TYPE = "dosing.Administration"


def clinic_doses(
    patient: Patient, since: datetime | None, until: datetime | None
) -> list[DoseEvent]:
    """Every ketamine administration of ``patient`` in [since, until); adjuncts are not ketamine."""
    query = Administration.objects.filter(
        clinic_id=patient.clinic_id, session__patient=patient, is_adjunct=False
    )
    if since is not None:
        query = query.filter(started_at__gte=since)
    if until is not None:
        query = query.filter(started_at__lt=until)
    return [
        DoseEvent(
            at=at, mg=mg, route=route, setting="clinic", source_type=SOURCE_TYPE, source_id=pk
        )
        for pk, at, mg, route in query.values_list("pk", "started_at", "dose_mg", "route")
    ]
