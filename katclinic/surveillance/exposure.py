"""Where ketamine doses come from, for cumulative exposure.

Doses are recorded by more than one app (in-clinic administrations in `dosing`,
take-home sessions in `athome`). Each registers a source: a function that returns the
patient's doses in a time window as `DoseEvent`s. Exposure sums are pure functions over
these events, so they are tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from katclinic.patients.models import Patient


@dataclass(frozen=True)
class DoseEvent:
    at: datetime
    mg: Decimal
    route: str
    # Where the dose was recorded, e.g. "clinic" or "home".
    setting: str
    # The record the dose comes from, for links and audit ("dosing.Administration", 12).
    source_type: str
    source_id: int


DoseSource = Callable[[Patient, datetime | None, datetime | None], Iterable[DoseEvent]]

SOURCES: dict[str, DoseSource] = {}


def register_source(name: str, source: DoseSource) -> None:
    """Add a dose source; registering the same name again replaces it."""
    SOURCES[name] = source


def dose_events(
    patient: Patient, *, since: datetime | None = None, until: datetime | None = None
) -> list[DoseEvent]:
    """Every recorded dose of ``patient`` in [since, until), oldest first."""
    events = [event for source in SOURCES.values() for event in source(patient, since, until)]
    return sorted(events, key=lambda event: (event.at, event.source_type, event.source_id))
