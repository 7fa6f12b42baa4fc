"""The patient's email when an appointment is booked, moved, cancelled or restored.

It says what kind of visit, when (in the clinic's time, with the zone named) and where, and
nothing else clinical: email is not a secure channel. It is sent after the transaction
commits, so a refused or rolled-back change tells no one.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from katclinic.clinics.notify import email_after_commit
from katclinic.patients.language import clock, in_language_of, long_date
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment

BOOKED = "booked"
MOVED = "moved"
CANCELLED = "cancelled"
RESTORED = "restored"

SUBJECTS = {
    BOOKED: gettext_lazy("Your appointment is booked"),
    MOVED: gettext_lazy("Your appointment has moved"),
    CANCELLED: gettext_lazy("Your appointment is cancelled"),
    RESTORED: gettext_lazy("Your appointment stands after all"),
}
OPENINGS = {
    BOOKED: gettext_lazy("Your %(kind)s is booked for"),
    MOVED: gettext_lazy("Your %(kind)s has moved. It is now on"),
    CANCELLED: gettext_lazy("Your %(kind)s has been cancelled. It was on"),
    RESTORED: gettext_lazy("Your %(kind)s was cancelled by mistake and is booked again for"),
}


def when_and_where(appointment: Appointment) -> str:
    """The visit's day, time (with the zone named) and place, in the active language."""
    local = appointment.start.astimezone(clinic_tz(appointment.clinic))
    place = f", {appointment.place}" if appointment.place else ""
    address = f" ({appointment.clinic.address.strip()})" if appointment.clinic.address else ""
    return _("%(day)s at %(time)s (%(zone)s), at %(clinic)s%(address)s%(place)s") % {
        "day": long_date(local),
        "time": clock(local),
        "zone": local.tzname(),
        "clinic": appointment.clinic.name,
        "address": address,
        "place": place,
    }


def _footer(appointment: Appointment) -> str:
    return _("To change or cancel, call %(phone)s.") % {
        "phone": appointment.clinic.phone or _("the clinic")
    }


def message(appointment: Appointment, what: str) -> tuple[str, str]:
    """(subject, body) of one confirmation, in the patient's language."""
    with in_language_of(appointment.patient):
        kind = str(appointment.get_kind_display()).lower()
        opening = OPENINGS[what] % {"kind": kind}
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


def schedule_message(appointments: Sequence[Appointment]) -> tuple[str, str]:
    """(subject, body) of one email listing a whole schedule, in the patient's language."""
    first = appointments[0]
    with in_language_of(first.patient):
        lines = [
            f"- {a.get_kind_display()}: {when_and_where(a)}"
            for a in sorted(appointments, key=lambda a: a.start)
        ]
        opening = _("These appointments are booked for you:")
        body = "\n".join([opening, "", *lines, "", _footer(first)])
        return f"{SUBJECTS[BOOKED]}: {first.clinic.name}", body


def send_many(appointments: Sequence[Appointment]) -> bool:
    """One email listing a whole schedule booked at once (a treatment plan's visits)."""
    email = appointments[0].patient.email
    if not email:
        return False
    subject, body = schedule_message(appointments)
    email_after_commit(to=[email], subject=subject, body=body)
    return True
