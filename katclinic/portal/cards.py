"""The cards of the patient's portal home, in the order they are shown.

Most read other apps' models directly; the at-home card belongs to the athome app.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from katclinic.athome.worklist import CARD as athome_card
from katclinic.clinics.content import preparation_lines
from katclinic.intake import services as intake
from katclinic.intake.models import ConsentSignature
from katclinic.measures.catalogue import current_definitions
from katclinic.measures.models import Invitation
from katclinic.patients.language import clock
from katclinic.patients.models import Patient
from katclinic.portal.home import Card, CardContent, Line
from katclinic.portal.models import JournalEntry
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment
from katclinic.scheduling.reminders import instruction_lines


def url_or_empty(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


# Not from a protocol: practical things every visit needs.
ALWAYS_BRING = _lazy(
    "Bring a photo ID and a list of the medicines you take, including any new ones."
)


def upcoming_appointments(patient: Patient) -> QuerySet[Appointment]:
    """The patient's booked visits from now on, soonest first."""
    return (
        Appointment.objects.filter(
            patient=patient,
            end__gte=timezone.now(),
            state__in=["booked", "confirmed", "checked_in"],
        )
        .select_related("plan__protocol_version", "clinic")
        .order_by("start")
    )


def preparation_steps(appointment: Any) -> list[str]:
    """What to do before a dosing visit, from the protocol behind its plan and the clinic."""
    steps = []
    if appointment.kind == "dosing" and appointment.plan_id is not None:
        steps = instruction_lines(appointment.plan.protocol_version.protocol.instructions)
    if appointment.kind == "dosing":
        steps += preparation_lines(appointment.clinic)
    return [*steps, str(ALWAYS_BRING)]


def local(appointment: Any, at: Any) -> Any:
    return at.astimezone(clinic_tz(appointment.clinic))


def appointment_card(request: HttpRequest, patient: Patient) -> CardContent | None:
    appointment = upcoming_appointments(patient).first()
    link = url_or_empty("portal:appointments", patient_id=patient.pk)
    if appointment is None:
        return CardContent(
            empty=_("You have no visit booked."), link=link, link_label=_("Your visits")
        )
    when = local(appointment, appointment.start)
    line = Line(
        _("%(kind)s: %(day)s at %(time)s")
        % {"kind": appointment.get_kind_display(), "day": weekday(when), "time": clock(when)},
        notes=preparation_steps(appointment),
    )
    return CardContent(lines=[line], link=link, link_label=_("Ask to move or cancel a visit"))


def questionnaires_card(request: HttpRequest, patient: Patient) -> CardContent | None:
    now = timezone.now()
    # Tablet invitations belong to the clinic's kiosk, not to the patient's own device.
    # Two schedules may ask for the same instrument in the same window: list it once, the
    # earliest first, since one answer serves both.
    first: dict[str, Any] = {}
    for i in Invitation.objects.filter(patient=patient).exclude(channel="kiosk").open_at(now):
        if i.instrument_key not in first or i.due_at < first[i.instrument_key].due_at:
            first[i.instrument_key] = i
    due = sorted(first.values(), key=lambda i: i.due_at)[:10]
    titles = (
        {key: pair[1].title for key, pair in current_definitions(patient.clinic).items()}
        if due
        else {}
    )
    lines = [
        Line(
            titles.get(i.instrument_key, i.instrument_key.upper()),
            url=url_or_empty("measures:my_answer", invitation_id=i.pk),
            detail=_("please answer by %(day)s") % {"day": day_month(i.expires_at)},
            level="warn",
        )
        for i in due
    ]
    return CardContent(lines=lines, empty=_("No questionnaires are waiting for you."))


def consents_card(request: HttpRequest, patient: Patient) -> CardContent | None:
    signed = set(
        ConsentSignature.objects.filter(patient=patient, withdrawal__isnull=True).values_list(
            "document_id", flat=True
        )
    )
    lines = [
        Line(
            _("Please read and sign: %(title)s") % {"title": d.title},
            level="warn",
            url=url_or_empty("intake:my_sign", patient_id=patient.pk, document_id=d.pk),
        )
        for d in intake.current_documents(patient.clinic).values()
        if d.pk not in signed and d.scope != "research"
    ]
    return CardContent(
        lines=lines,
        empty=_("Every consent form is signed."),
        link=url_or_empty("intake:my_consents", patient_id=patient.pk),
        link_label=_("Your consent forms"),
    )


def journal_card(request: HttpRequest, patient: Patient) -> CardContent:
    latest = JournalEntry.objects.filter(patient=patient).order_by("-created_at").first()
    detail = (
        _("Last entry %(day)s") % {"day": day_month(latest.created_at)}
        if latest
        else _("No entries yet")
    )
    return CardContent(
        lines=[
            Line(
                _("Write in your journal"),
                url=reverse("portal:journal", args=[patient.pk]),
                detail=detail,
            )
        ],
    )


def day_month(value: Any) -> str:
    """ "7 December" or "7 de diciembre", in the clinic's time."""
    return formats.date_format(timezone.localtime(value), pgettext("day and month", "j F"))


def weekday(value: Any) -> str:
    """ "Monday 7 December" or "lunes 7 de diciembre"."""
    return formats.date_format(value, pgettext("weekday, day and month", "l j F"))


CARDS: tuple[Card, ...] = (
    Card("appointment", _lazy("Your next visit"), appointment_card),
    Card("questionnaires", _lazy("Questionnaires to answer"), questionnaires_card),
    athome_card,
    Card("consents", _lazy("Consent forms"), consents_card),
    Card("journal", _lazy("Your journal"), journal_card),
)


def cards_for(request: HttpRequest, patient: Patient) -> list[tuple[Card, CardContent]]:
    """Each card with something to show, in the order of CARDS."""
    shown = []
    for card in CARDS:
        content = card.content(request, patient)
        if content is not None:
            shown.append((card, content))
    return shown
