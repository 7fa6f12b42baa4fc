"""Undoing a cancellation, completion or no-show within the clinic's undo window.

The state an appointment was in before is read from its audit trail, which is append-only;
the undo is itself a state change, recorded the same way, and cannot be undone in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditEvent
from katclinic.scheduling import confirmations, reminders
from katclinic.scheduling.clinic_settings import UNDO_MINUTES
from katclinic.scheduling.models import Appointment, Reminder, ReminderState, State
from katclinic.scheduling.services import ScheduleConflict, Slot, conflicts

UNDOABLE = (State.CANCELLED, State.COMPLETED, State.NO_SHOW)


@dataclass(frozen=True)
class Undo:
    previous: State
    until: datetime


def available(appointment: Appointment, now: datetime | None = None) -> Undo | None:
    """What an undo would restore and until when, or None when there is nothing to undo."""
    if appointment.state not in UNDOABLE:
        return None
    event = (
        AuditEvent.objects.filter(
            clinic_id=appointment.clinic_id,
            object_type=appointment._meta.label_lower,
            object_id=str(appointment.pk),
            action=Action.UPDATE,
            detail__has_key="state",
        )
        .order_by("-id")
        .first()
    )
    if event is None or event.detail.get("undo"):
        return None
    before, after = event.detail["state"]
    if after != appointment.state:
        return None
    until = event.at + timedelta(minutes=UNDO_MINUTES.value(appointment.clinic))
    if (now or timezone.now()) > until:
        return None
    return Undo(State(before), until)


def _restore_reminders(appointment: Appointment) -> None:
    """Reminders that a cancellation stopped, for this time and still ahead, go out again."""
    wanted = {appointment.start - timedelta(hours=h) for h in reminders.offsets(appointment.clinic)}
    Reminder.objects.filter(
        appointment=appointment,
        state=ReminderState.CANCELLED,
        send_at__in=wanted,
        send_at__gt=timezone.now(),
    ).update(state=ReminderState.PENDING)


def _check_restorable(appointment: Appointment) -> None:
    """A cancelled appointment comes back only into a slot that is still free."""
    if appointment.state != State.CANCELLED:
        return
    slot = Slot(
        appointment.staff,
        appointment.start,
        appointment.end,
        appointment.room,
        appointment.chair,
    )
    problems = conflicts(appointment.clinic, slot, kind=appointment.kind, exclude=appointment.pk)
    if problems:
        raise ScheduleConflict(["the appointment cannot be restored", *problems])


@transaction.atomic
def undo(*, appointment: Appointment, by: User, request: HttpRequest | None = None) -> Appointment:
    """Put the appointment back as it was before its last state change, or raise
    ScheduleConflict saying why not (the window has passed, or the slot is taken)."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient", "staff", "room", "chair__room")
        .get(pk=appointment.pk)
    )
    found = available(appointment)
    if found is None:
        raise ScheduleConflict(["there is nothing to undo, or the time to undo it has passed"])
    _check_restorable(appointment)
    was = State(appointment.state)
    appointment.state = found.previous
    appointment.cancel_reason = ""
    appointment.save(update_fields=["state", "cancel_reason"])
    if was in (State.CANCELLED, State.NO_SHOW):
        _restore_reminders(appointment)
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=appointment.clinic_id,
        patient_id=appointment.patient_id,
        obj=appointment,
        detail={"state": [was.value, found.previous.value], "undo": True},
    )
    if was == State.CANCELLED:
        confirmations.send(appointment, confirmations.RESTORED)
    return appointment
