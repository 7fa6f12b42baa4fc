"""Telling someone a secure message is waiting: only that, and a link to sign in.

Email and text messages are not secure channels, so a notification carries no patient
name, no subject, no words of the message and no health information; the link leads to
a page that asks the reader to sign in.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.urls import reverse
from django.utils.translation import gettext as _

from katclinic.messaging.clinic_settings import TEXT_NOTIFICATIONS
from katclinic.messaging.models import Message
from katclinic.patients.language import in_language_of
from katclinic.scheduling import sms

log = logging.getLogger(__name__)


def _link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def patient_texts(message: Message) -> tuple[str, str, str]:
    """(email subject, email body, text message) for the patient: a message waits."""
    link = _link(reverse("messaging:mine", args=[message.thread.patient_id]))
    subject = _("You have a new secure message")
    body = _(
        "A new message is waiting for you in your patient portal.\n"
        "Sign in to read it: %(link)s\n\n"
        "Please do not reply to this email."
    ) % {"link": link}
    text = _("A new secure message is waiting in your patient portal: %(link)s") % {"link": link}
    return subject, body, text


def staff_texts(message: Message) -> tuple[str, str]:
    """(subject, body) for the care team: a patient's message waits in the inbox."""
    link = _link(reverse("messaging:thread", args=[message.thread_id]))
    subject = _("A patient's secure message is waiting")
    body = _("A patient sent a secure message. Sign in to read it: %(link)s") % {"link": link}
    return subject, body


@task()
def tell_patient(message_id: int) -> None:
    message = Message.objects.select_related("thread__patient__user").get(pk=message_id)
    patient = message.thread.patient
    email = patient.user.email if patient.user else patient.email
    with in_language_of(patient):
        subject, body, text = patient_texts(message)
    if email:
        send_mail(subject, body, None, [email])
    by_text = TEXT_NOTIFICATIONS.value(patient.clinic_id)
    if patient.phone and (by_text or not email):
        try:
            sms.get_backend().send(to=patient.phone, body=text)
        except sms.SmsError as error:
            log.warning("message notification text not sent: %s", error)


def care_team_emails(message: Message) -> list[str]:
    """Whoever the thread is assigned to, else the responsible clinician, else the clinic."""
    thread = message.thread
    person = thread.assigned_to or thread.patient.responsible_clinician
    if person is not None and person.is_active:
        return [person.email]
    return [thread.clinic.email] if thread.clinic.email else []


@task()
def tell_care_team(message_id: int) -> None:
    message = Message.objects.select_related(
        "thread__assigned_to", "thread__patient__responsible_clinician", "thread__clinic"
    ).get(pk=message_id)
    to = care_team_emails(message)
    if to:
        subject, body = staff_texts(message)
        send_mail(subject, body, None, to)
