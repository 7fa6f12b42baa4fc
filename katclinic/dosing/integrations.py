"""What the dosing app asks of other apps, in one place.

Each question is asked of the app that owns the answer, through the one typed function or
model it offers for it, imported directly. A failure in another app is an error, never a
different answer; "no signed version" is asked as its own question, not read from an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from katclinic.accounts.models import User
from katclinic.insurance.services import authorization_for_session
from katclinic.intake.services import consent_status, eligibility_status
from katclinic.lib import rows
from katclinic.measures.models import Invitation, SafetyAlert
from katclinic.measures.services import schedule_around_session
from katclinic.patients.models import Patient
from katclinic.protocols import services as protocols
from katclinic.protocols.models import Plan


@dataclass(frozen=True)
class Answer:
    ok: bool
    detail: str = ""
    items: list[str] = field(default_factory=list)


def consent(patient: Patient, *, route: str) -> Answer:
    """intake.services.consent_status(patient, route=...)."""
    status = consent_status(patient, route=route)
    detail = "Consent is current." if status.current else (status.reason or "No current consent.")
    return Answer(bool(status.current), detail, list(status.missing))


def eligibility(patient: Patient, *, route: str, plan: Plan) -> Answer:
    """intake.services.eligibility_status for the route, with the plan's review reason."""
    status = eligibility_status(patient, route=route)
    version = plan.current_version()
    reason = protocols.review_reason(version) if version is not None else ""
    refusal = status.refusal(review_reason=reason)
    if refusal:
        return Answer(False, refusal, list(status.reasons))
    return Answer(True, status.summary, list(status.reasons))


def prior_authorization(patient: Patient, *, on: date, is_esketamine: bool) -> Answer | None:
    """insurance.services.authorization_for_session; None when the session needs no check."""
    answer = authorization_for_session(patient, on=on, is_esketamine=is_esketamine)
    if not answer.applies:
        return None
    return Answer(answer.ok, answer.detail)


# measures SafetyAlert.objects.open_alerts(patient) in id order, compiled once
# (katclinic.lib.rows.Compiled): the rule stays the measures app's, read afresh every call.
_OPEN_SAFETY_ALERTS = rows.Compiled(
    SafetyAlert,
    lambda patient: SafetyAlert.objects.open_alerts(patient).order_by("pk"),
    "patient",
)


def open_safety_alerts(patient: Patient) -> Answer:
    """measures SafetyAlert.objects.open_alerts(patient), described one per line."""
    alerts = _OPEN_SAFETY_ALERTS(patient=patient.pk)
    items = [f"{a.get_kind_display()} alert raised {a.raised_at:%Y-%m-%d}" for a in alerts]
    return Answer(not items, "", items)


def pre_session_questionnaires(patient: Patient, session_start: datetime) -> Answer:
    """Pre-session invitations of measures that close at this session's start: all answered?"""
    # Not a clinical choice: pre-session invitations expire at the session's start, so this
    # only finds this session's invitations (a booking moved by under 12 hours still matches).
    window = (session_start - timedelta(hours=12), session_start + timedelta(hours=12))
    invitations = Invitation.objects.filter(
        patient=patient, schedule__rule="pre_session", expires_at__range=window
    )
    open_ = [i.instrument_key.upper() for i in invitations if i.used_at is None]
    if open_:
        return Answer(False, "Not answered: " + ", ".join(sorted(open_)) + ".", open_)
    return Answer(True, f"{len(invitations)} pre-session questionnaire(s) answered.")


def schedule_questionnaires(*, patient: Patient, session_start: datetime, by: User | None) -> None:
    """Ask measures to set up the before/after-session questionnaires."""
    schedule_around_session(patient=patient, session_start=session_start, by=by)


def active_plan(patient: Patient) -> Plan | None:
    return protocols.active_plan(patient)


def plan_dose_limits(plan: Plan) -> tuple[Decimal, Decimal, Decimal] | None:
    """(min mg, max mg, planned mg) of the plan's signed version, or None when unsigned."""
    # One look-up of the signed version: the protocols app refuses an unsigned plan.
    try:
        return protocols.plan_dose_limits(plan)
    except protocols.PlanError:
        return None
