"""Portal writes: emailed links, invitations, password resets, journal and requests.

Every function runs in one transaction and writes exactly one audit event per change.
Emailed links carry a random token; only its SHA-256 is stored, each is used once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from katclinic.accounts import services as account_services
from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import IntSetting
from katclinic.dosing.models import DosingSession
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Patient
from katclinic.portal import clinic_settings as S
from katclinic.portal.models import (
    AppointmentRequest,
    JournalEntry,
    LinkPurpose,
    LinkRequest,
    PortalLink,
    RequestKind,
    RequestStatus,
)
from katclinic.scheduling.models import Appointment

# Emailed-link requests allowed per hour; enough for a patient who mistypes, too few
# to use the form to flood someone's inbox or probe many addresses from one place.
LINKS_PER_EMAIL_PER_HOUR = 5
LINKS_PER_IP_PER_HOUR = 20

LIFETIME_SETTING: dict[LinkPurpose, tuple[IntSetting, str]] = {
    LinkPurpose.SIGN_IN: (S.SIGN_IN_LINK_MINUTES, "minutes"),
    LinkPurpose.INVITATION: (S.INVITATION_LINK_HOURS, "hours"),
    LinkPurpose.RESET: (S.RESET_LINK_MINUTES, "minutes"),
}
LINK_URL = {
    LinkPurpose.SIGN_IN: "portal:link_sign_in",
    LinkPurpose.INVITATION: "portal:set_password",
    LinkPurpose.RESET: "portal:set_password",
}


class PortalError(Exception):
    """A request the portal refuses, with a message meant for the person who made it."""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@task()
def send_portal_email(*, to: str, subject: str, body: str) -> None:
    """Sent in the background, so a request takes as long whether or not an account exists."""
    send_mail(subject, body, None, [to])


def link_lifetime(clinic: Clinic, purpose: LinkPurpose) -> timedelta:
    setting, unit = LIFETIME_SETTING[purpose]
    return timedelta(**{unit: setting.value(clinic)})


def issue_link(
    *, user: User, clinic: Clinic, purpose: LinkPurpose, created_by: User | None = None
) -> str:
    """Store a new link (earlier unused links of the same kind stop working); return its token."""
    now = timezone.now()
    PortalLink.objects.usable().filter(user=user, purpose=purpose).update(expires_at=now)
    raw = secrets.token_urlsafe(32)
    PortalLink.objects.create(
        clinic=clinic,
        user=user,
        purpose=purpose,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + link_lifetime(clinic, purpose),
        created_by=created_by,
    )
    return raw


def _email_link(*, user: User, patient: Patient, purpose: LinkPurpose, raw: str) -> None:
    url = settings.SITE_URL.rstrip("/") + reverse(LINK_URL[purpose], kwargs={"token": raw})
    with in_language_of(patient):
        subject, body = link_email(user=user, clinic=patient.clinic, purpose=purpose, url=url)
    send_portal_email.enqueue(to=user.email, subject=subject, body=body)


def link_email(*, user: User, clinic: Clinic, purpose: LinkPurpose, url: str) -> tuple[str, str]:
    """(subject, body) of a sign-in, invitation or reset link, in the active language."""
    minutes = int(link_lifetime(clinic, purpose).total_seconds() // 60)
    valid = (
        ngettext("%(n)s hour", "%(n)s hours", minutes // 60) % {"n": minutes // 60}
        if minutes >= 120
        else ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    )
    what = {
        LinkPurpose.SIGN_IN: _("sign in to your patient portal"),
        LinkPurpose.INVITATION: _("set a password for your new patient portal account"),
        LinkPurpose.RESET: _("choose a new password for your patient portal"),
    }[purpose]
    values = {"name": user.full_name, "what": what, "clinic": clinic.name, "valid": valid}
    body = (
        _("Hello %(name)s,") % values
        + "\n\n"
        + _("Use this link to %(what)s at %(clinic)s:") % values
        + f"\n\n{url}\n\n"
        + _(
            "It works once and for %(valid)s. If you did not ask for it, you can ignore this "
            "email; nothing changes."
        )
        % values
        + "\n"
    )
    return _("%(clinic)s: patient portal") % values, body


# Link requests are counted over this span (LINKS_PER_EMAIL_PER_HOUR, LINKS_PER_IP_PER_HOUR).
RATE_WINDOW = timedelta(hours=1)


def rate_limited(*, email: str, ip: str | None) -> bool:
    since = timezone.now() - RATE_WINDOW
    recent = LinkRequest.objects.filter(at__gte=since)
    if recent.filter(email=email).count() >= LINKS_PER_EMAIL_PER_HOUR:
        return True
    return ip is not None and recent.filter(ip=ip).count() >= LINKS_PER_IP_PER_HOUR


def portal_patient_for_email(email: str) -> Patient | None:
    """The patient record of an active patient account with this email, if there is one."""
    return (
        Patient.objects.select_related("clinic", "user")
        .filter(user__email__iexact=email, user__is_active=True, user__kind=User.Kind.PATIENT)
        .first()
    )


@transaction.atomic
def request_emailed_link(*, email: str, purpose: LinkPurpose, request: HttpRequest) -> None:
    """Email a sign-in or reset link if an active patient account has this address.

    The caller answers the same way whatever happens here, so the form does not reveal
    which addresses have accounts.
    """
    email = email.strip().lower()[:254]
    ip = audit.client_ip(request)
    limited = rate_limited(email=email, ip=ip)
    LinkRequest.objects.create(email=email, ip=ip)
    patient = None if limited else portal_patient_for_email(email)
    if patient is None or patient.user is None:
        return
    raw = issue_link(user=patient.user, clinic=patient.clinic, purpose=purpose)
    _email_link(user=patient.user, patient=patient, purpose=purpose, raw=raw)
    audit.record(
        request=request,
        action=Action.SECURITY,
        user=patient.user,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        object_type="account",
        object_id=str(patient.user.pk),
        detail={"change": f"{purpose} link sent"},
    )


def find_link(raw: str, purposes: tuple[LinkPurpose, ...]) -> PortalLink | None:
    """A usable link for this token (does not use it up)."""
    return (
        PortalLink.objects.usable()
        .select_related("user", "clinic")
        .filter(token_hash=hash_token(raw), purpose__in=purposes, user__is_active=True)
        .first()
    )


def _use_link(raw: str, purposes: tuple[LinkPurpose, ...]) -> PortalLink | None:
    link = find_link(raw, purposes)
    if link is None:
        return None
    # The conditional update makes a race between two clicks use the link only once.
    used = PortalLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return link if used == 1 else None


@transaction.atomic
def sign_in_with_link(*, raw: str, request: HttpRequest) -> User | None:
    """Start a session from a sign-in link; the second factor still follows if enrolled."""
    link = _use_link(raw, (LinkPurpose.SIGN_IN,))
    if link is None:
        return None
    # accounts.sign_in writes the sign-in audit event and leaves the second factor pending.
    account_services.sign_in(request, link.user)
    return link.user


@transaction.atomic
def invite_patient(*, patient: Patient, email: str, by: User, request: HttpRequest) -> User:
    """Create the patient's portal account and email a link to set its password."""
    email = email.strip().lower()
    if patient.user_id is not None:
        raise PortalError("This patient already has a portal account.")
    if User.objects.filter(email__iexact=email).exists():
        raise PortalError("Another account already uses this email address.")
    user = User.objects.create_user(
        email=email, password=None, full_name=patient.full_name, kind=User.Kind.PATIENT
    )
    patient.user = user
    patient.save(update_fields=["user"])
    raw = issue_link(
        user=user, clinic=patient.clinic, purpose=LinkPurpose.INVITATION, created_by=by
    )
    _email_link(user=user, patient=patient, purpose=LinkPurpose.INVITATION, raw=raw)
    audit.record(
        request=request,
        action=Action.CREATE,
        patient_id=patient.pk,
        object_type="account",
        object_id=str(user.pk),
        detail={"change": "portal account invited"},
    )
    return user


@transaction.atomic
def resend_invitation(*, patient: Patient, by: User, request: HttpRequest) -> None:
    """Send a fresh set-password link to an invited patient who has not set a password."""
    user = patient.user
    if user is None or user.has_usable_password():
        raise PortalError("This patient has already set a password; they can reset it.")
    raw = issue_link(
        user=user, clinic=patient.clinic, purpose=LinkPurpose.INVITATION, created_by=by
    )
    _email_link(user=user, patient=patient, purpose=LinkPurpose.INVITATION, raw=raw)
    audit.record(
        request=request,
        action=Action.SECURITY,
        patient_id=patient.pk,
        object_type="account",
        object_id=str(user.pk),
        detail={"change": "portal invitation sent again"},
    )


@transaction.atomic
def set_password_with_link(*, raw: str, password: str, request: HttpRequest) -> User | None:
    """Use an invitation or reset link to set a password; sign nobody in.

    Every session of the account ends, so whoever holds the link must then sign in the
    ordinary way, second factor included.
    """
    link = _use_link(raw, (LinkPurpose.INVITATION, LinkPurpose.RESET))
    if link is None:
        return None
    user = link.user
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = account_services.end_sessions(user)
    audit.record(
        request=request,
        action=Action.SECURITY,
        user=user,
        clinic_id=link.clinic_id,
        object_type="account",
        object_id=str(user.pk),
        detail={"change": f"password set by {link.purpose} link", "sessions_ended": ended},
    )
    return user


def _owns(patient: Patient, model: type[DosingSession | Appointment], pk: int) -> bool:
    return model.objects.filter(pk=pk, patient=patient).exists()


@transaction.atomic
def write_journal_entry(
    *, patient: Patient, text: str, shared: bool, session_id: int | None, request: HttpRequest
) -> JournalEntry:
    if session_id is not None and not _owns(patient, DosingSession, session_id):
        raise PortalError("That session is not one of yours.")
    now = timezone.now()
    entry = JournalEntry.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        text=text.strip(),
        created_at=now,
        session_id=session_id,
        shared_with_therapist=shared,
        shared_at=now if shared else None,
    )
    audit.record(
        request=request,
        action=Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=entry,
        detail={"shared": shared},
    )
    return entry


@transaction.atomic
def set_journal_sharing(*, entry: JournalEntry, shared: bool, request: HttpRequest) -> None:
    """Share an entry with the care team, or take it back (it leaves the chart at once)."""
    if entry.shared_with_therapist == shared:
        return
    entry.shared_with_therapist = shared
    entry.shared_at = timezone.now() if shared else None
    entry.save(update_fields=["shared_with_therapist", "shared_at"])
    audit.record(
        request=request,
        action=Action.UPDATE,
        clinic_id=entry.clinic_id,
        patient_id=entry.patient_id,
        obj=entry,
        detail={"shared": shared},
    )


@transaction.atomic
def request_appointment_change(
    *,
    patient: Patient,
    kind: RequestKind,
    appointment_id: int | None,
    starts_at: datetime | None,
    preferred_times: str,
    message: str,
    request: HttpRequest,
) -> AppointmentRequest:
    """Record a patient's reschedule or cancel request and tell the front desk by email."""
    if appointment_id is not None and not _owns(patient, Appointment, appointment_id):
        raise PortalError("That visit is not one of yours.")
    made = AppointmentRequest.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        appointment_id=appointment_id,
        appointment_starts_at=starts_at,
        kind=kind,
        preferred_times=preferred_times.strip(),
        message=message.strip(),
    )
    audit.record(
        request=request,
        action=Action.CREATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=made,
        detail={"kind": kind},
    )
    clinic = patient.clinic
    if clinic.email:
        # No clinical detail in the email: only that a request is waiting, and where.
        url = settings.SITE_URL.rstrip("/") + reverse("portal:requests")
        body = f"A patient asked to {kind.label.lower()} an appointment.\nOpen: {url}\n"
        send_portal_email.enqueue(
            to=clinic.email, subject=f"{clinic.name}: appointment request", body=body
        )
    return made


@transaction.atomic
def handle_appointment_request(
    *, appointment_request: AppointmentRequest, by: User, request: HttpRequest
) -> bool:
    """Mark a request handled; False if someone else already did."""
    done = AppointmentRequest.objects.filter(
        pk=appointment_request.pk, status=RequestStatus.OPEN
    ).update(status=RequestStatus.DONE, handled_at=timezone.now(), handled_by=by)
    if done:
        audit.record(
            request=request,
            action=Action.UPDATE,
            patient_id=appointment_request.patient_id,
            obj=appointment_request,
            detail={"status": "done"},
        )
    return bool(done)


def record_export(*, patient: Patient, fmt: str, request: HttpRequest) -> None:
    """The one audit event for a patient downloading their own record."""
    audit.record(
        request=request,
        action=Action.EXPORT,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"format": fmt, "by": "patient"},
    )
