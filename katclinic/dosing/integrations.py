"""What the dosing app asks of other apps, in one place.

Each function imports lazily and, if the other app does not (yet) offer what is needed,
says so in an `Answer` with `available=False`. The gate turns such an answer into a failed
check that reads "cannot be checked", never into a silent pass.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from katclinic.patients.models import Patient


@dataclass(frozen=True)
class Answer:
    available: bool
    ok: bool = False
    detail: str = ""
    items: list[str] = field(default_factory=list)


def _function(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _missing(what: str) -> Answer:
    return Answer(False, False, f"Cannot be checked: {what} is not available in this installation.")


def consent(patient: Patient, *, route: str) -> Answer:
    """intake.services.consent_status(patient, route=...)."""
    status_of = _function("katclinic.intake.services", "consent_status")
    if status_of is None:
        return _missing("consent status (intake)")
    status = status_of(patient, route=route)
    detail = "Consent is current." if status.current else (status.reason or "No current consent.")
    return Answer(True, bool(status.current), detail, list(status.missing))


def open_safety_alerts(patient: Patient) -> Answer:
    """measures SafetyAlert.objects.open_alerts(patient), described one per line."""
    model = _function("katclinic.measures.models", "SafetyAlert")
    if model is None or not hasattr(model.objects, "open_alerts"):
        return _missing("safety alerts (measures)")
    alerts = list(model.objects.open_alerts(patient).order_by("pk"))
    items = [f"{a.get_kind_display()} alert raised {a.raised_at:%Y-%m-%d}" for a in alerts]
    return Answer(True, not items, "", items)


def pre_session_questionnaires(patient: Patient, session_start: datetime) -> Answer:
    """Pre-session invitations of measures that close at this session's start: all answered?"""
    model = _function("katclinic.measures.models", "Invitation")
    if model is None:
        return _missing("questionnaire invitations (measures)")
    window = (session_start - timedelta(hours=12), session_start + timedelta(hours=12))
    invitations = model.objects.filter(
        patient=patient, schedule__rule="pre_session", expires_at__range=window
    )
    open_ = [i.instrument_key.upper() for i in invitations if i.used_at is None]
    if open_:
        return Answer(True, False, "Not answered: " + ", ".join(sorted(open_)) + ".", open_)
    return Answer(True, True, f"{len(invitations)} pre-session questionnaire(s) answered.")


def schedule_questionnaires(*, patient: Patient, session_start: datetime, by: Any) -> bool:
    """Ask measures to set up the before/after-session questionnaires; False if unavailable."""
    schedule = _function("katclinic.measures.services", "schedule_around_session")
    if schedule is None:
        return False
    schedule(patient=patient, session_start=session_start, by=by)
    return True


def active_plan(patient: Patient) -> Any | None:
    find = _function("katclinic.protocols.services", "active_plan")
    return None if find is None else find(patient)


def plan_dose_limits(plan: Any) -> tuple[Decimal, Decimal, Decimal] | None:
    """(min mg, max mg, planned mg) of the plan's signed version, or None when unsigned."""
    limits = _function("katclinic.protocols.services", "plan_dose_limits")
    if limits is None:
        return None
    try:
        return limits(plan)
    except ValueError:
        return None
