"""Where ketamine doses come from, for cumulative exposure: in-clinic administrations
(the dosing app) and take-home doses taken (the athome app), read as `DoseEvent`s.

A new place that records doses adds its function to `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from katclinic.athome.models import HomeSession
from katclinic.dosing.models import Administration
from katclinic.patients.models import Patient
from katclinic.surveillance.exposure import DoseEvent

SOURCE_TYPE = "dosing.Administration"
HOME_SOURCE_TYPE = "athome.HomeSession"


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
