"""Where ketamine doses come from, for cumulative exposure: in-clinic administrations
(the dosing app) and take-home doses taken (the athome app), read as `DoseEvent`s.

A new place that records doses adds its function to `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from katclinic.athome.models import HomeSession
from katclinic.dosing.models import Administration
from katclinic.lib.compiled import CompiledValues
from katclinic.patients.models import Patient
from katclinic.surveillance.exposure import DoseEvent

SOURCE_TYPE = "dosing.Administration"
HOME_SOURCE_TYPE = "athome.HomeSession"


def _clinic_query(
    patient: int, clinic: int, since: datetime | None, until: datetime | None
) -> QuerySet[Administration, tuple[Any, ...]]:
    query = Administration.objects.filter(
        clinic_id=clinic, session__patient_id=patient, is_adjunct=False
    )
    if since is not None:
        query = query.filter(started_at__gte=since)
    if until is not None:
        query = query.filter(started_at__lt=until)
    return query.values_list("pk", "started_at", "dose_mg", "route")


def _clinic_until_query(
    patient: int, clinic: int, until: datetime
) -> QuerySet[Administration, tuple[Any, ...]]:
    return _clinic_query(patient, clinic, None, until)


# The review page's read (every dose up to now), compiled once.
_CLINIC_UNTIL = CompiledValues(
    Administration, _clinic_until_query, patient=int, clinic=int, until=datetime
)


def clinic_doses(
    patient: Patient, since: datetime | None, until: datetime | None
) -> list[DoseEvent]:
    """Every ketamine administration of ``patient`` in [since, until); adjuncts are not ketamine."""
    rows = (
        _CLINIC_UNTIL(patient=patient.pk, clinic=patient.clinic_id, until=until)
        if since is None and until is not None
        else _clinic_query(patient.pk, patient.clinic_id, since, until)
    )
    return [
        DoseEvent(
            at=at, mg=mg, route=route, setting="clinic", source_type=SOURCE_TYPE, source_id=pk
        )
        for pk, at, mg, route in rows
    ]


def home_doses(patient: Patient, since: datetime | None, until: datetime | None) -> list[DoseEvent]:
    """Every take-home dose actually taken, by the route of the protocol behind its plan."""
    rows = HomeSession.objects.filter(patient=patient, clinic_id=patient.clinic_id).taken()
    if since is not None:
        rows = rows.filter(taken_at__gte=since)
    if until is not None:
        rows = rows.filter(taken_at__lt=until)
    route: dict[int, str] = {}
    events = []
    for s in rows.select_related("prescription__plan__protocol_version").order_by("taken_at"):
        plan = s.prescription.plan
        if plan.pk not in route:
            route[plan.pk] = plan.protocol_version.protocol.route
        if s.taken_at is None or s.dose_mg is None:
            continue  # the database constraint makes this impossible for a taken session
        events.append(
            DoseEvent(
                at=s.taken_at,
                mg=s.dose_mg,
                route=route[plan.pk],
                setting="home",
                source_type=HOME_SOURCE_TYPE,
                source_id=s.pk,
            )
        )
    return events


DoseSource = Callable[[Patient, datetime | None, datetime | None], Iterable[DoseEvent]]

SOURCES: tuple[DoseSource, ...] = (clinic_doses, home_doses)


def dose_events(
    patient: Patient, *, since: datetime | None = None, until: datetime | None = None
) -> list[DoseEvent]:
    """Every recorded dose of ``patient`` in [since, until), oldest first."""
    events = [event for source in SOURCES for event in source(patient, since, until)]
    return sorted(events, key=lambda event: (event.at, event.source_type, event.source_id))
