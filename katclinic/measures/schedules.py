"""The periodic job that turns schedules into invitations, sends them and reminds once."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.tasks import task
from django.utils import timezone

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.measures.clinic_settings import REMINDER_AFTER_HOURS
from katclinic.measures.models import Channel, Invitation, MeasurementSchedule, Rule
from katclinic.measures.services import (
    MAIL_ERRORS,
    _channel,
    _link_hours,
    email_invitation,
    log_deferred,
)
from katclinic.patients.models import Patient

# Recurring rules: the patient's stage they apply in, and how often.
RECURRING = {
    Rule.WEEKLY_INDUCTION: (Patient.Stage.INDUCTION, timedelta(days=7)),
    # A month as 28 days keeps the weekday (and a clinic's dosing day) the same.
    Rule.MONTHLY_MAINTENANCE: (Patient.Stage.MAINTENANCE, timedelta(days=28)),
}


def create_recurring(now: datetime) -> list[Invitation]:
    """An invitation for each recurring schedule whose interval has passed since the last one."""
    made = []
    for rule, (stage, every) in RECURRING.items():
        schedules = (
            MeasurementSchedule.objects.filter(rule=rule, active=True, patient__stage=stage)
            .annotate(last_due=Max("invitations__due_at"))
            .select_related("patient__clinic")
        )
        for schedule in schedules:
            if schedule.last_due is not None and schedule.last_due > now - every:
                continue
            made.append(_create(schedule, now.replace(second=0, microsecond=0)))
    return made


def _create(schedule: MeasurementSchedule, due: datetime) -> Invitation:
    patient = schedule.patient
    with transaction.atomic():
        invitation, _ = Invitation.objects.get_or_create(
            schedule=schedule,
            due_at=due,
            defaults={
                "clinic_id": patient.clinic_id,
                "patient": patient,
                "instrument_key": schedule.instrument_key,
                "channel": _channel(patient),
                "purpose": schedule.get_rule_display(),
                "expires_at": due + _link_hours(patient),
            },
        )
        audit.record(
            request=None,
            action=Action.CREATE,
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            obj=invitation,
            detail={"rule": schedule.rule},
        )
    return invitation


def _send(invitation: Invitation, now: datetime, *, reminder: bool) -> bool:
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("patient__clinic")
            .get(pk=invitation.pk)
        )
        if (
            locked.used_at is not None
            or (locked.reminded_at if reminder else locked.sent_at) is not None
        ):
            return False  # sent by an earlier run
        if not email_invitation(locked, reminder=reminder):
            return False
        if reminder:
            locked.reminded_at = now
        else:
            locked.sent_at = now
        locked.save(update_fields=["token_hash", "reminded_at" if reminder else "sent_at"])
        audit.record(
            request=None,
            action=Action.EXPORT,
            clinic_id=locked.clinic_id,
            patient_id=locked.patient_id,
            obj=locked,
            detail={"step": "reminded" if reminder else "sent", "channel": "email"},
        )
    return True


def send_due(now: datetime) -> tuple[int, int]:
    """Email due invitations not yet sent, and one reminder for those still unanswered."""
    emailed = Invitation.objects.open_at(now).filter(channel=Channel.EMAIL)
    sent = sum(_send_or_defer(i, now, reminder=False) for i in emailed.filter(sent_at__isnull=True))
    reminded = 0
    for invitation in emailed.filter(
        sent_at__isnull=False, reminded_at__isnull=True
    ).select_related("clinic"):
        hours = REMINDER_AFTER_HOURS.value(invitation.clinic)
        if invitation.sent_at and invitation.sent_at <= now - timedelta(hours=hours):
            reminded += _send_or_defer(invitation, now, reminder=True)
    return sent, reminded


def _send_or_defer(invitation: Invitation, now: datetime, *, reminder: bool) -> bool:
    """One unreachable mail server or bad address must not stop the others being sent;
    what failed stays unsent and is tried again on the next run."""
    try:
        return _send(invitation, now, reminder=reminder)
    except MAIL_ERRORS as exc:
        log_deferred(invitation, exc)
        return False


def run_schedules(now: datetime | None = None) -> dict[str, int]:
    """Idempotent: a second run at the same moment creates and sends nothing more."""
    now = now or timezone.now()
    created = create_recurring(now)
    sent, reminded = send_due(now)
    return {"created": len(created), "sent": sent, "reminded": reminded}


@task()
def run_schedules_task() -> dict[str, int]:
    return run_schedules()
