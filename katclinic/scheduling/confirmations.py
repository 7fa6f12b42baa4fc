"""The patient's email when an appointment is booked, moved, cancelled or restored.

It says what kind of visit, when (in the clinic's time, with the zone named) and where, and
nothing else clinical: email is not a secure channel. It is sent after the transaction
commits, so a refused or rolled-back change tells no one.
"""

from __future__ import annotations

from collections.abc import Sequence

from katclinic.clinics.notify import email_after_commit
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment

BOOKED = "booked"
MOVED = "moved"
CANCELLED = "cancelled"
RESTORED = "restored"

SUBJECTS = {
    BOOKED: "Your appointment is booked",
    MOVED: "Your appointment has moved",
    CANCELLED: "Your appointment is cancelled",
    RESTORED: "Your appointment stands after all",
}
OPENINGS = {
    BOOKED: "Your {kind} is booked for",
    MOVED: "Your {kind} has moved. It is now on",
    CANCELLED: "Your {kind} has been cancelled. It was on",
    RESTORED: "Your {kind} was cancelled by mistake and is booked again for",
}


def when_and_where(appointment: Appointment) -> str:
    local = appointment.start.astimezone(clinic_tz(appointment.clinic))
    place = f", {appointment.place}" if appointment.place else ""
    address = f" ({appointment.clinic.address.strip()})" if appointment.clinic.address else ""
    return (
        f"{local:%A %d %B %Y} at {local:%H:%M} ({local.tzname()}), "
        f"at {appointment.clinic.name}{address}{place}"
    )


def _footer(appointment: Appointment) -> str:
    return f"To change or cancel, call {appointment.clinic.phone or 'the clinic'}."


def message(appointment: Appointment, what: str) -> tuple[str, str]:
    """(subject, body) of one confirmation."""
    kind = appointment.get_kind_display().lower()
    opening = OPENINGS[what].format(kind=kind)
    body = f"{opening} {when_and_where(appointment)}.\n\n{_footer(appointment)}"
    return f"{SUBJECTS[what]}: {appointment.clinic.name}", body


def send(appointment: Appointment, what: str) -> bool:
    """Email the patient, if they have an address on record; True when one is queued."""
    email = appointment.patient.email
    if not email:
        return False
    subject, body = message(appointment, what)
    email_after_commit(to=[email], subject=subject, body=body)
    return True


def send_many(appointments: Sequence[Appointment]) -> bool:
    """One email listing a whole schedule booked at once (a treatment plan's visits)."""
    first = appointments[0]
    email = first.patient.email
    if not email:
        return False
    lines = [
        f"- {a.get_kind_display()}: {when_and_where(a)}"
        for a in sorted(appointments, key=lambda a: a.start)
    ]
    body = "\n".join(["These appointments are booked for you:", "", *lines, "", _footer(first)])
    email_after_commit(to=[email], subject=f"{SUBJECTS[BOOKED]}: {first.clinic.name}", body=body)
    return True
