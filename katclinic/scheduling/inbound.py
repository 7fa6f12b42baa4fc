"""Texts patients send to the clinic's number: replies to reminders, STOP and START, HELP,
and anything else, which is kept for front desk.

The SMS provider POSTs each text to the inbound webhook with Twilio's form fields (`From`,
`To`, `Body`, `MessageSid`) and signs it: the `X-Twilio-Signature` header is the Base64 of an
HMAC-SHA1, keyed with the account's auth token, of the webhook's full URL followed by every
POST parameter's name and value, sorted by name (Twilio, "Webhooks security",
https://www.twilio.com/docs/usage/webhooks/webhooks-security). A text without a valid
signature is refused before anything is read or stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.messaging import services as messaging
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Patient
from katclinic.scheduling import selfbook, services
from katclinic.scheduling.models import (
    Appointment,
    Channel,
    InboundText,
    Reminder,
    ReminderState,
    SmsOptOut,
    State,
    phone_digits,
)
from katclinic.scheduling.reminders import same_number

# English and Spanish replies: a reminder in either language asks for C or X.
CONFIRM_WORDS = frozenset({"C", "Y", "YES", "CONFIRM", "SI", "SÍ", "CONFIRMAR"})
CANCEL_WORDS = frozenset({"X", "CANCEL", "CANCELAR"})
# Opt-out and opt-in keywords as Twilio recognises them ("Twilio support for opt-out keywords
# (SMS STOP filtering)", https://support.twilio.com/hc/en-us/articles/223134027). Twilio also
# counts CANCEL as an opt-out unless the clinic's Messaging Service turns that off (Advanced
# Opt-Out); here CANCEL cancels the visit the text reminded of.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
MAX_BODY = 1600  # the longest text Twilio delivers (10 segments of 160 characters)


def signature(url: str, params: Iterable[tuple[str, list[str]]], token: str) -> str:
    """The X-Twilio-Signature value for a POST of `params` to `url`."""
    data = url + "".join(
        name + value for name, values in sorted(params) for value in sorted(values)
    )
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_ok(request: HttpRequest, url: str, token: str) -> bool:
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not given:
        return False
    expected = signature(url, request.POST.lists(), token)
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class Sender:
    digits: str
    patients: list[Patient]
    reminded: Appointment | None

    @property
    def clinic(self) -> Clinic | None:
        if self.reminded is not None:
            return self.reminded.clinic
        return self.patients[0].clinic if self.patients else None

    @property
    def patient(self) -> Patient | None:
        if self.reminded is not None:
            return self.reminded.patient
        return self.patients[0] if len(self.patients) == 1 else None


def find_sender(number: str) -> Sender:
    """The patients with this phone number, and the upcoming visit last reminded by text."""
    digits = phone_digits(number)
    if len(digits) < 7:
        return Sender(digits, [], None)
    patients = [
        p
        for p in Patient.objects.search(digits[-7:]).select_related("clinic")
        if same_number(p.phone, digits)
    ]
    reminder = (
        Reminder.objects.filter(
            channel=Channel.SMS,
            state=ReminderState.SENT,
            appointment__patient__in=patients,
            appointment__start__gt=timezone.now(),
        )
        .select_related("appointment__patient", "appointment__clinic")
        .order_by("-sent_at")
        .first()
    )
    return Sender(digits, patients, reminder.appointment if reminder else None)


def _call(clinic: Clinic | None) -> str:
    if clinic is None:
        return _("Please call your clinic.")
    return _("Please call %(clinic)s on %(phone)s.") % {
        "clinic": clinic.name,
        "phone": clinic.phone or _("its usual number"),
    }


@transaction.atomic
def receive(*, sender_number: str, body: str, clinic_number: str = "") -> str:
    """Act on one text and return the reply to send back (empty: no reply), in the
    language of the patient who sent it."""
    sender = find_sender(sender_number)
    if sender.clinic is None:
        return from_unknown_number(sender=sender, body=body, clinic_number=clinic_number)
    with in_language_of(sender.patient or sender.patients[0]):
        return _answer(sender, sender.clinic, body)


def _answer(sender: Sender, clinic: Clinic, body: str) -> str:
    word = body.strip().strip(".!").upper()
    if word in STOP_WORDS:
        return opt_out(sender=sender)
    if word in START_WORDS:
        return opt_in(sender=sender)
    if word in HELP_WORDS:
        return _(
            "%(clinic)s: for help with your visits, call %(phone)s. Reply STOP to stop texts."
        ) % {"clinic": clinic.name, "phone": clinic.phone or _("the clinic")}
    if word in CONFIRM_WORDS:
        return confirm(sender=sender)
    if word in CANCEL_WORDS:
        return cancel(sender=sender)
    return pass_on(sender=sender, clinic=clinic, body=body)


def pass_on(*, sender: Sender, clinic: Clinic, body: str) -> str:
    """Anything else: a message in the patient's thread for their care team, or, when the
    number is not one patient's with a portal account, a text kept for front desk."""
    patient = sender.patient
    message = None
    if patient is not None and patient.user is not None and patient.user.is_active:
        try:
            message = messaging.receive_text(patient=patient, body=body)
        except messaging.MessagingError:
            message = None
    if message is None:
        keep_for_staff(clinic=clinic, patient=patient, digits=sender.digits, body=body)
    elif message.crisis_words:
        return _(
            "Thank you, your message is with your care team. If you are thinking of harming "
            "yourself, get help now: %(crisis)s"
        ) % {"crisis": clinic.crisis_resources or _("call your local emergency number.")}
    return _(
        "Thank you, your message is with the clinic. Texts are not watched around the clock: "
        "if you are in danger, call your local emergency number."
    )


def clinic_of_number(number: str) -> Clinic | None:
    """The one clinic whose phone number a text was sent to, if exactly one has it."""
    digits = phone_digits(number)
    if len(digits) < 7:
        return None
    found = [
        c
        for c in Clinic.objects.filter(phone__endswith=digits[-4:])
        if same_number(c.phone, digits)
    ]
    return found[0] if len(found) == 1 else None


def from_unknown_number(*, sender: Sender, body: str, clinic_number: str) -> str:
    """A number no patient has: kept for the front desk of the clinic it was sent to
    (nothing is stored when that clinic cannot be told); keywords get no answer."""
    clinic = clinic_of_number(clinic_number)
    word = body.strip().strip(".!").upper()
    keywords = STOP_WORDS | START_WORDS | HELP_WORDS | CONFIRM_WORDS | CANCEL_WORDS
    if clinic is None or len(sender.digits) < 7 or not body.strip() or word in keywords:
        return ""
    keep_for_staff(clinic=clinic, patient=None, digits=sender.digits, body=body)
    return _("Thank you, your message is with the clinic. Please call %(phone)s for help.") % {
        "phone": clinic.phone or _("the clinic")
    }


def confirm(*, sender: Sender) -> str:
    appointment = sender.reminded
    if appointment is None:
        return _("We could not find an upcoming visit to confirm.") + " " + _call(sender.clinic)
    if appointment.state == State.BOOKED:
        services.set_state(
            appointment=appointment, state=State.CONFIRMED, by=appointment.patient.user
        )
    elif appointment.state != State.CONFIRMED:
        return _("This visit can no longer be confirmed.") + " " + _call(sender.clinic)
    return _("Thank you, your visit is confirmed.")


def cancel(*, sender: Sender) -> str:
    appointment = sender.reminded
    if appointment is None:
        return _("We could not find an upcoming visit to cancel.") + " " + _call(sender.clinic)
    try:
        selfbook.cancel_own(
            patient=appointment.patient,
            appointment=appointment,
            reason="Cancelled by the patient by text",
        )
    except selfbook.BookingRefused:
        return _("This visit is too soon to cancel by text.") + " " + _call(sender.clinic)
    return _("Your visit is cancelled.") + " " + _call(sender.clinic)


def _clinics(sender: Sender) -> list[Clinic]:
    found = {p.clinic_id: p.clinic for p in sender.patients}
    if sender.reminded is not None:
        found[sender.reminded.clinic_id] = sender.reminded.clinic
    return list(found.values())


def opt_out(*, sender: Sender) -> str:
    """No more texts to this number from any clinic it is a patient's number at."""
    for clinic in _clinics(sender):
        __, created = SmsOptOut.objects.get_or_create(clinic=clinic, phone_digits=sender.digits)
        if created:
            _audit_number(clinic, sender, "texts stopped (STOP)")
    return _("You will get no more texts from us. Reply START to get them again.")


def opt_in(*, sender: Sender) -> str:
    for clinic in _clinics(sender):
        rows = [
            row
            for row in SmsOptOut.objects.filter(clinic=clinic)
            if same_number(row.phone_digits, sender.digits)
        ]
        if rows:
            SmsOptOut.objects.filter(pk__in=[row.pk for row in rows]).delete()
            _audit_number(clinic, sender, "texts restarted (START)")
    return _("Texts are back on. Reply STOP at any time to stop them.")


def _audit_number(clinic: Clinic, sender: Sender, what: str) -> None:
    patient = sender.patient
    audit.record(
        request=None,
        action=Action.UPDATE,
        clinic_id=clinic.pk,
        patient_id=patient.pk if patient is not None and patient.clinic_id == clinic.pk else None,
        object_type="scheduling.smsoptout",
        object_id=sender.digits[-4:],
        detail={"texts": what},
    )


def keep_for_staff(
    *, clinic: Clinic, patient: Patient | None, digits: str, body: str
) -> InboundText:
    """Keep a patient's text for front desk. The one place inbound texts are stored, so that
    it can hand them to a messaging thread instead."""
    text = InboundText.objects.create(
        clinic=clinic,
        patient=patient if patient is not None and patient.clinic_id == clinic.pk else None,
        from_digits=digits,
        body=body[:MAX_BODY],
    )
    audit.record(
        request=None,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        patient_id=text.patient_id,
        obj=text,
        detail={"via": "text message"},
    )
    return text
