"""The whole demo: the base network and then each app's history, in this order (each reads
what the ones before it made: consents before courses, plans before sessions, sessions
before charges and notes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction

from katclinic.athome import demo as athome
from katclinic.billing import demo as billing
from katclinic.demo.generator import DemoWorld, build_base
from katclinic.dosing import demo as dosing
from katclinic.insurance import demo as insurance
from katclinic.intake import demo as intake
from katclinic.measures import demo as measures
from katclinic.messaging import demo as messaging
from katclinic.outcomes import demo as outcomes
from katclinic.portal import demo as portal
from katclinic.protocols import demo as protocols
from katclinic.scheduling import demo as scheduling
from katclinic.surveillance import demo as surveillance
from katclinic.visitnotes import demo as visitnotes

History = Callable[[DemoWorld], None]

HISTORIES: tuple[History, ...] = (
    intake.build,
    measures.build,
    protocols.build,
    scheduling.build,
    dosing.build,
    outcomes.build,
    portal.build,
    athome.build,
    surveillance.build,
    billing.build,
    visitnotes.build,
    insurance.build,
    messaging.build,
)


@transaction.atomic
def build_demo(
    *, seed: int = 7, patients_per_clinic: int = 20, histories: Sequence[History] = HISTORIES
) -> DemoWorld:
    world = build_base(seed=seed, patients_per_clinic=patients_per_clinic)
    for history in histories:
        history(world)
    return world
