"""The suicidality safety loop: raise, acknowledge, close and escalate safety alerts.

An alert is raised by a flag of an instrument definition that means a suicidality
concern: a PHQ-9 item 9 answer above 0 (any thought of self-harm; Kroenke K et al.,
J Gen Intern Med 2001;16:606-613, https://doi.org/10.1046/j.1525-1497.2001.016009606.x),
a QIDS-SR16 item 12 answer at or above the clinic's alert answer (Rush AJ et al., Biol
Psychiatry 2003;54:573-583, https://doi.org/10.1016/S0006-3223(02)01866-8), a high-risk
C-SSRS screen (Q4, Q5 or recent behaviour; Posner K et al., Am J Psychiatry
2011;168:1266-1277, https://doi.org/10.1176/appi.ajp.2011.10111704); or by crisis words
in a free-text answer (a review prompt).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import IntSetting, setting_named
from katclinic.measures import alert_steps
from katclinic.measures.alert_steps import AlertError
from katclinic.measures.clinic_settings import ALERT_ACK_MINUTES, MEDICAL_DIRECTOR_EMAIL
from katclinic.measures.models import AlertKind, AlertState, CloseAction, Response, SafetyAlert
from katclinic.measures.scoring import InstrumentDefinition, ScoreResult
from katclinic.patients.models import Patient

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Flag codes of the shipped definitions that mean a suicidality concern.
ALERT_FLAGS = {
    "suicidal_ideation": (
        AlertKind.PHQ9_ITEM9,
        "PHQ-9 item 9 (thoughts of death or self-harm) above 0",
    ),
    "suicidal_ideation_qids": (
        AlertKind.QIDS_ITEM12,
        "QIDS-SR16 item 12 (thoughts of death or suicide) at or above the clinic's alert answer",
    ),
    "immediate_evaluation": (AlertKind.CSSRS_HIGH, "C-SSRS screen high risk: immediate evaluation"),
}


@dataclass(frozen=True)
class CrisisPhrases:
    """The phrases of crisis_phrases.json, what they are for and the sources behind them."""

    phrases: tuple[str, ...]
    about: str
    source: str


@functools.cache
def crisis_phrase_list() -> CrisisPhrases:
    raw = resources.files("katclinic.measures").joinpath("crisis_phrases.json").read_text("utf-8")
    data = json.loads(raw)
    return CrisisPhrases(tuple(data["phrases"]), data["about"], data["source"])


@functools.cache
def crisis_phrases() -> tuple[re.Pattern[str], ...]:
    """Whole-word patterns from crisis_phrases.json (data, documented there as a review prompt)."""
    phrases = crisis_phrase_list().phrases
    return tuple(re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE) for p in phrases)


def crisis_matches(text: str) -> list[str]:
    return [p.pattern for p in crisis_phrases() if p.search(text)]


def flag_values(*, clinic_id: int, definition: InstrumentDefinition) -> dict[str, int]:
    """The clinic's own value for every flag rule that names a clinic setting.

    The names are checked when a definition loads (`catalogue.check_settings`); one that
    still names no setting raises UnknownSetting rather than falling back silently.
    """
    return {
        rule.code: setting_named(rule.setting, IntSetting).value(clinic_id)
        for rule in definition.flags
        if rule.setting is not None
    }


def concerns(result: ScoreResult, comment: str) -> list[tuple[str, str]]:
    """(kind, reason) for every safety concern in a scored response."""
    found = [ALERT_FLAGS[flag] for flag in result.flags if flag in ALERT_FLAGS]
    if comment and crisis_matches(comment):
        found.append((AlertKind.CRISIS_TEXT, "Free-text answer contains crisis words: review it"))
    return [(str(kind), reason) for kind, reason in found]


def raise_alerts(
    *, response: Response, found: list[tuple[str, str]], request: HttpRequest | None
) -> list[SafetyAlert]:
    """Create one alert per concern (inside the caller's transaction) and email at once."""
    return [
        raise_alert(
            patient=response.patient,
            kind=kind,
            reason=reason,
            raised_at=response.submitted_at,
            request=request,
            response=response,
        )
        for kind, reason in found
    ]


def raise_alert(
    *,
    patient: Patient,
    kind: str,
    reason: str,
    raised_at: datetime,
    request: HttpRequest | None,
    response: Response | None = None,
    source: dict[str, int] | None = None,
) -> SafetyAlert:
    """One alert for the patient's responsible clinician, inside the caller's transaction;
    the clinician (or the medical director) is emailed once it commits. `source` names
    the record that raised it when that is not a questionnaire response."""
    alert = SafetyAlert.objects.create(
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        response=response,
        kind=kind,
        reason=reason,
        assigned_to_id=patient.responsible_clinician_id,
        raised_at=raised_at,
    )
    detail: dict[str, object] = {"kind": kind, **(source or {})}
    if response is not None:
        detail["response"] = response.pk
    audit.record(
        request=request,
        action=Action.CREATE,
        clinic_id=alert.clinic_id,
        patient_id=alert.patient_id,
        obj=alert,
        detail=detail,
    )
    transaction.on_commit(functools.partial(email_alert_raised.enqueue, alert.pk))
    return alert


def _alert_link(alert: SafetyAlert) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("measures:alert_detail", args=[alert.pk])


@task()
def email_alert_raised(alert_id: int) -> None:
    """Tell the responsible clinician (or the medical director when none) at once."""
    alert = SafetyAlert.objects.select_related("assigned_to", "clinic").get(pk=alert_id)
    to = [alert.assigned_to.email] if alert.assigned_to else director_emails(alert.clinic)
    # No patient name in email: the link leads to the signed-in chart.
    body = (
        f"A safety alert was raised at {alert.clinic.name}: {alert.reason}.\n"
        f"Acknowledge it now: {_alert_link(alert)}\n"
    )
    send_mail("KAT Clinic: safety alert needs acknowledgement", body, None, to)


def director_emails(clinic: Clinic) -> list[str]:
    """The clinic's medical director: the configured email, else admin-prescribers, else admins."""
    configured = MEDICAL_DIRECTOR_EMAIL.value(clinic).strip()
    if configured:
        return [configured]
    members = StaffMembership.objects.active().filter(clinic=clinic)
    admins = set(members.filter(role=Role.ADMIN).values_list("user_id", flat=True))
    prescribers = set(members.filter(role=Role.PRESCRIBER).values_list("user_id", flat=True))
    chosen = (admins & prescribers) or admins
    return sorted(User.objects.filter(pk__in=chosen).values_list("email", flat=True))


def is_open(clinic: Clinic, at: datetime) -> bool:
    """Whether ``at`` falls within the clinic's opening hours, in the clinic's time zone."""
    local = at.astimezone(ZoneInfo(clinic.timezone))
    hours = (clinic.opening_hours or {}).get(DAYS[local.weekday()])
    if not hours:
        return False
    start, end = (time.fromisoformat(value) for value in hours)
    return start <= local.time() < end


def _locked(alert: SafetyAlert) -> SafetyAlert:
    return SafetyAlert.objects.select_for_update().get(pk=alert.pk)


@transaction.atomic
def acknowledge_alert(
    *, alert: SafetyAlert, by: User, request: HttpRequest | None = None
) -> SafetyAlert:
    return alert_steps.acknowledge(_locked(alert), by=by, request=request)


@transaction.atomic
def close_alert(
    *, alert: SafetyAlert, action: str, note: str, by: User, request: HttpRequest | None = None
) -> SafetyAlert:
    """Close with a documented action and note; an open alert is acknowledged on the way."""
    if action not in CloseAction.values:
        raise AlertError("action", f"The action must be one of {', '.join(CloseAction.values)}.")
    alert = _locked(alert)
    alert.action = action
    return alert_steps.close(alert, note=note, by=by, request=request, detail={"action": action})


def _escalate_one(alert: SafetyAlert, now: datetime) -> bool:
    """Escalate once (the conditional update makes a second run a no-op); True if it did."""
    clinic = alert.clinic
    open_now = is_open(clinic, now)
    deadline = alert.raised_at + timedelta(minutes=ALERT_ACK_MINUTES.value(clinic))
    if open_now and now < deadline:
        return False
    to = director_emails(clinic)
    rule = (
        ""
        if open_now
        else (clinic.after_hours_rule or "No after-hours rule is set for this clinic.")
    )
    with transaction.atomic():
        claimed = SafetyAlert.objects.filter(
            pk=alert.pk, state=AlertState.OPEN, escalated_at__isnull=True
        )
        if not claimed.update(escalated_at=now, escalated_to=", ".join(to), after_hours_rule=rule):
            return False
        audit.record(
            request=None,
            action=Action.UPDATE,
            clinic_id=alert.clinic_id,
            patient_id=alert.patient_id,
            obj=alert,
            detail={"step": "escalated", "to": to, "after_hours": not open_now},
        )
    extra = [clinic.email] if rule and clinic.email else []
    body = (
        f"A safety alert at {clinic.name} was not acknowledged in time: {alert.reason}.\n"
        + (f"The clinic is closed. After-hours rule: {rule}\n" if rule else "")
        + f"Open it: {_alert_link(alert)}\n"
    )
    send_mail("KAT Clinic: safety alert escalated", body, None, to + extra)
    return True


def escalate_overdue(now: datetime | None = None) -> int:
    """Escalate every open alert past its acknowledgement time, or raised out of hours."""
    now = now or timezone.now()
    pending = SafetyAlert.objects.filter(state=AlertState.OPEN, escalated_at__isnull=True)
    return sum(_escalate_one(alert, now) for alert in pending.select_related("clinic"))


@task()
def escalate_alerts_task() -> int:
    return escalate_overdue()
