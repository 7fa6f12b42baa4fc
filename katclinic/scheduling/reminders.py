"""Appointment reminders: created at the clinic's offsets, sent by a periodic task with retries.

A reminder carries the protocol's pre-session instructions (fasting, transport, driving) for
dosing sessions, and no clinical detail beyond them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from katclinic.clinics.content import preparation_lines, reminder_note
from katclinic.clinics.models import Clinic
from katclinic.core.outgoing import is_held
from katclinic.patients.language import clock, in_language_of, long_date
from katclinic.protocols.schema import Instructions
from katclinic.scheduling import clinic_settings as S
from katclinic.scheduling import sms
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import (
    Appointment,
    Channel,
    Kind,
    Reminder,
    ReminderState,
    SmsOptOut,
    phone_digits,
)

# Wait before retry n: 5 min, 10, 20, 40... (doubling, capped at 6 h) so a provider outage
# is ridden out without hammering it.
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(hours=6)


class OptedOut(RuntimeError):
    """The patient's phone number replied STOP: no text goes to it."""


def same_number(a: str, b: str) -> bool:
    """Two numbers' digits name one phone: the shorter (7 digits or more) ends the longer,
    so "+1 555 010 4477" and "555-010-4477" match."""
    short, long = sorted((phone_digits(a), phone_digits(b)), key=len)
    return len(short) >= 7 and long.endswith(short)


def opted_out(clinic: Clinic, phone: str) -> bool:
    """Whether `phone` asked this clinic for no more texts."""
    digits = phone_digits(phone)
    if len(digits) < 7:
        return False
    rows = SmsOptOut.objects.filter(clinic=clinic, phone_digits__endswith=digits[-7:])
    return any(same_number(row.phone_digits, digits) for row in rows)


def offsets(clinic: Clinic) -> list[int]:
    raw = S.REMINDER_OFFSETS_HOURS.value(clinic)
    return sorted(
        {
            int(p)
            for p in raw.replace(" ", "").split(",")
            if p.isascii() and p.isdigit() and int(p) > 0
        },
        reverse=True,
    )


def create_for(appointment: Appointment) -> list[Reminder]:
    """Pending reminders at each offset still in the future, by email and (if set) SMS."""
    texts = S.REMINDER_SMS.value(appointment.clinic) and not opted_out(
        appointment.clinic, appointment.patient.phone
    )
    channels = [Channel.EMAIL] + ([Channel.SMS] if texts else [])
    now = timezone.now()
    rows = [
        Reminder(
            clinic_id=appointment.clinic_id,
            appointment=appointment,
            channel=channel,
            send_at=appointment.start - timedelta(hours=hours),
            next_attempt_at=appointment.start - timedelta(hours=hours),
        )
        for hours in offsets(appointment.clinic)
        for channel in channels
        if appointment.start - timedelta(hours=hours) > now
    ]
    return Reminder.objects.bulk_create(rows)


def cancel_pending(appointment: Appointment) -> int:
    return Reminder.objects.filter(appointment=appointment, state=ReminderState.PENDING).update(
        state=ReminderState.CANCELLED
    )


def instruction_lines(instructions: Instructions) -> list[str]:
    """The patient's pre-session instructions from a protocol file, in plain words."""
    lines = []
    if instructions.fasting is not None:
        lines.append(
            _("Do not eat for %(hours)s hours before your session.")
            % {"hours": instructions.fasting.no_food_hours}
        )
        lines.append(
            _("Do not drink anything for %(minutes)s minutes before it.")
            % {"minutes": instructions.fasting.no_liquids_minutes}
        )
    if instructions.nasal_products_hours_before is not None:
        hours = instructions.nasal_products_hours_before.value
        lines.append(
            ngettext(
                "Use any nasal steroid or decongestant at least %(hours)s hour before.",
                "Use any nasal steroid or decongestant at least %(hours)s hours before.",
                hours,
            )
            % {"hours": hours}
        )
    if instructions.arrange_transport:
        lines.append(_("Arrange a ride home: someone must take you home after the session."))
    if instructions.no_driving_until_after_sleep:
        lines.append(_("Do not drive until the next day, after a night's sleep."))
    return lines


def message(appointment: Appointment) -> tuple[str, str]:
    """(subject, body) of a reminder, in the patient's language."""
    local = appointment.start.astimezone(clinic_tz(appointment.clinic))
    instructions = None
    if appointment.kind == Kind.DOSING and appointment.plan is not None:
        instructions = appointment.plan.protocol_version.protocol.instructions
    with in_language_of(appointment.patient):
        return compose(
            clinic=appointment.clinic,
            what=str(appointment.get_kind_display()).lower(),
            local=local,
            dosing=appointment.kind == Kind.DOSING,
            instructions=instructions,
        )


def compose(
    *,
    clinic: Clinic,
    what: str,
    local: datetime,
    dosing: bool,
    instructions: Instructions | None,
    preparation: list[str] | None = None,
    note: str | None = None,
) -> tuple[str, str]:
    """(subject, body) of a reminder; `preparation` and `note` default to the clinic's own
    texts (a preview passes the wording being edited)."""
    body = [
        _("This is a reminder of your %(what)s at %(clinic)s")
        % {"what": what, "clinic": clinic.name},
        _("on %(day)s at %(time)s.") % {"day": long_date(local), "time": clock(local)},
        "",
    ]
    steps = instruction_lines(instructions) if instructions is not None else []
    if dosing:
        steps += preparation_lines(clinic) if preparation is None else preparation
    if steps:
        body += [_("Before your session:"), *[f"- {line}" for line in steps], ""]
    note = reminder_note(clinic) if note is None else note
    if note:
        body += [note, ""]
    body.append(
        _("To change or cancel, call %(phone)s.") % {"phone": clinic.phone or _("the clinic")}
    )
    subject = _("Reminder: your appointment at %(clinic)s") % {"clinic": clinic.name}
    return subject, "\n".join(body)


def deliver(reminder: Reminder) -> None:
    """Send one reminder; raise on failure."""
    appointment = reminder.appointment
    subject, body = message(appointment)
    with in_language_of(appointment.patient):
        reply_words = _("Reply C to confirm or X to cancel. Reply STOP to stop texts.")
    if reminder.channel == Channel.EMAIL:
        if not appointment.patient.email:
            raise ValueError("no email address on record")
        send_mail(subject, body, None, [appointment.patient.email])
    else:
        if opted_out(appointment.clinic, appointment.patient.phone):
            raise OptedOut("the patient replied STOP and receives no texts")
        body += "\n" + reply_words
        sms.get_backend().send(to=appointment.patient.phone, body=body)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def _attempt(reminder: Reminder, now: datetime) -> bool:
    try:
        deliver(reminder)
    except OptedOut as exc:
        reminder.state, reminder.last_error = ReminderState.CANCELLED, str(exc)
        reminder.save(update_fields=["state", "last_error"])
        return False
    except Exception as exc:  # noqa: BLE001 - any provider failure is recorded and retried
        reminder.attempts += 1
        reminder.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        limit = S.REMINDER_MAX_ATTEMPTS.value(reminder.clinic)
        reminder.state = (
            ReminderState.FAILED if reminder.attempts >= limit else ReminderState.PENDING
        )
        reminder.next_attempt_at = now + retry_delay(reminder.attempts)
        reminder.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
        return False
    reminder.attempts += 1
    reminder.state, reminder.sent_at = ReminderState.SENT, now
    reminder.save(update_fields=["attempts", "state", "sent_at"])
    return True


def send_due(now: datetime | None = None) -> int:
    """Send every reminder that is due; return how many went out. Safe to run repeatedly:
    each reminder is claimed under a row lock, and a sent one is never picked again."""
    now = now or timezone.now()
    sent = 0
    if is_held():  # a restored copy sends nothing until an operator releases it
        return 0
    due = Reminder.objects.filter(
        state=ReminderState.PENDING, next_attempt_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due[:500]):
        with transaction.atomic():
            reminder = (
                Reminder.objects.select_for_update(of=("self",))
                .select_related(
                    "clinic",
                    "appointment__patient",
                    "appointment__clinic",
                    "appointment__plan__protocol_version",
                )
                .filter(pk=pk, state=ReminderState.PENDING)
                .first()
            )
            if reminder is None:
                continue
            if reminder.appointment.start <= now:
                reminder.state, reminder.last_error = (
                    ReminderState.CANCELLED,
                    "appointment already started",
                )
                reminder.save(update_fields=["state", "last_error"])
                continue
            sent += _attempt(reminder, now)
    return sent


@task()
def send_due_reminders() -> int:
    return send_due()
