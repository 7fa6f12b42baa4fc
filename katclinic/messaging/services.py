"""Every write of secure messaging, each in one transaction with its audit event."""

from __future__ import annotations

import functools
import re
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Perm, roles_allow
from katclinic.measures.models import AlertKind
from katclinic.measures.safety import raise_alert
from katclinic.messaging import notify
from katclinic.messaging.clinic_settings import ATTACHMENT_MAX_MB, CRISIS_PHRASES
from katclinic.messaging.models import Attachment, Message, Thread, ThreadRead
from katclinic.patients.language import in_language_of
from katclinic.patients.models import Patient

SUBJECT_MAX = 120
BODY_MAX = 5000
REASON_MAX = 300
ATTACHMENT_TYPES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}


class MessagingError(ValueError):
    """A refused write; `field` names the form field at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def crisis_phrases(clinic_id: int) -> list[str]:
    raw = CRISIS_PHRASES.value(clinic_id)
    return [p.strip() for p in re.split(r"[,\n]", raw) if p.strip()]


def crisis_words_in(text: str, *, clinic_id: int) -> list[str]:
    """The clinic's crisis phrases found in `text` as whole words, ignoring case.

    A helper that asks a clinician to read the message; it is not monitoring.
    """
    flat = " ".join(text.replace("\u2019", "'").split())
    return [
        phrase
        for phrase in crisis_phrases(clinic_id)
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", flat, re.IGNORECASE)
    ]


def _clean_text(value: str, *, field: str, limit: int, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MessagingError(_("Write %(what)s.") % {"what": what}, field=field)
    if len(text) > limit:
        raise MessagingError(
            _("Keep it under %(limit)s characters.") % {"limit": limit}, field=field
        )
    if "\x00" in text:
        raise MessagingError(_("It contains a character that cannot be stored."), field=field)
    return text


def check_upload(upload: UploadedFile, *, clinic_id: int) -> tuple[str, str]:
    """(content type, extension) of an acceptable attachment, or MessagingError on `file`."""
    limit_mb = ATTACHMENT_MAX_MB.value(clinic_id)
    size = upload.size or 0
    if size == 0:
        raise MessagingError(_("The file is empty."), field="file")
    if size > limit_mb * 1024 * 1024:
        raise MessagingError(
            _("The file is larger than %(mb)s MB.") % {"mb": limit_mb}, field="file"
        )
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    for magic, found in ATTACHMENT_TYPES.items():
        if head.startswith(magic):
            return found
    raise MessagingError(_("Attach a PDF, PNG or JPEG file."), field="file")


def _attach(message: Message, upload: UploadedFile, kind: tuple[str, str]) -> Attachment:
    content_type, extension = kind
    now = timezone.now()
    attachment = Attachment(
        clinic_id=message.clinic_id,
        message=message,
        original_name=(upload.name or "attachment").rsplit("/", 1)[-1][:200],
        content_type=content_type,
        size=upload.size or 0,
        uploaded_at=now,
    )
    attachment.file.save(f"{now:%Y%m%d%H%M%S}-{message.pk}.{extension}", upload, save=False)
    attachment.save()
    return attachment


def _store_message(
    thread: Thread, by: User, body: str, from_patient: bool, at: datetime, words: list[str]
) -> Message:
    return Message.objects.create(
        clinic_id=thread.clinic_id,
        thread=thread,
        author=by,
        from_patient=from_patient,
        body=body,
        sent_at=at,
        crisis_words=words,
    )


def _add_message(
    *,
    request: HttpRequest | None,
    by: User,
    thread: Thread,
    body: str,
    upload: UploadedFile | None,
    via: str = "",
) -> Message:
    """The message row, its attachment, the thread's waiting marks and the audit event."""
    kind = check_upload(upload, clinic_id=thread.clinic_id) if upload else None
    from_patient = not by.is_staff_member
    now = timezone.now()
    words = crisis_words_in(body, clinic_id=thread.clinic_id) if from_patient else []
    message = _store_message(thread, by, body, from_patient, now, words)
    if upload is not None and kind is not None:
        _attach(message, upload, kind)
    _update_marks(thread, from_patient=from_patient, at=now)
    _mark_read(thread=thread, user=by, at=now)
    detail = {"thread": thread.pk, "attachment": upload is not None, "crisis": bool(words)}
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=thread.clinic_id,
        patient_id=thread.patient_id,
        obj=message,
        detail=detail | ({"via": via} if via else {}),
    )
    if words:
        _raise_crisis_alert(request=request, thread=thread, message=message, at=now)
    transaction.on_commit(functools.partial(_notify, message.pk, from_patient))
    return message


def _notify(message_id: int, from_patient: bool) -> None:
    task = notify.tell_care_team if from_patient else notify.tell_patient
    task.enqueue(message_id)


def _update_marks(thread: Thread, *, from_patient: bool, at: datetime) -> None:
    if from_patient:
        thread.last_patient_message_at = at
        thread.waiting_since = thread.waiting_since or at
    else:
        thread.last_staff_message_at = at
        thread.waiting_since = None
    thread.save(update_fields=["last_patient_message_at", "last_staff_message_at", "waiting_since"])


def _raise_crisis_alert(
    *, request: HttpRequest | None, thread: Thread, message: Message, at: datetime
) -> None:
    raise_alert(
        patient=thread.patient,
        kind=AlertKind.CRISIS_TEXT,
        reason=(
            "A message from the patient to the care team contains words of self-harm: "
            f"read it now (secure messages, thread {thread.pk})"
        ),
        raised_at=at,
        request=request,
        source={"message": message.pk, "thread": thread.pk},
    )


@transaction.atomic
def start_thread(
    *,
    request: HttpRequest | None,
    by: User,
    patient: Patient,
    subject: str,
    body: str,
    upload: UploadedFile | None = None,
) -> tuple[Thread, Message]:
    """A new thread with its first message, by the patient or a member of staff."""
    subject = _clean_text(subject, field="subject", limit=SUBJECT_MAX, what=_("a subject"))
    body = _clean_text(body, field="body", limit=BODY_MAX, what=_("a message"))
    thread = Thread.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        subject=subject,
        started_by=by,
        started_at=timezone.now(),
        assigned_to=by if by.is_staff_member else None,
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=thread.clinic_id,
        patient_id=patient.pk,
        obj=thread,
        detail={"by_patient": not by.is_staff_member},
    )
    message = _add_message(request=request, by=by, thread=thread, body=body, upload=upload)
    return thread, message


@transaction.atomic
def reply(
    *,
    request: HttpRequest | None,
    by: User,
    thread: Thread,
    body: str,
    upload: UploadedFile | None = None,
) -> Message:
    body = _clean_text(body, field="body", limit=BODY_MAX, what=_("a message"))
    locked = Thread.objects.select_for_update().select_related("patient").get(pk=thread.pk)
    return _add_message(request=request, by=by, thread=locked, body=body, upload=upload)


def text_thread(patient: Patient) -> Thread | None:
    """The thread a text from the patient continues: their most recently active one."""
    return (
        Thread.objects.filter(clinic_id=patient.clinic_id, patient=patient)
        .select_for_update()
        .order_by(
            Greatest(
                Coalesce("last_patient_message_at", "started_at"),
                Coalesce("last_staff_message_at", "started_at"),
            ).desc(),
            "-pk",
        )
        .first()
    )


@transaction.atomic
def receive_text(*, patient: Patient, body: str) -> Message:
    """A text message the patient sent to the clinic's number, kept as their message in
    their most recently active thread (a new one when they have none), with the same
    crisis check, audit and care-team notification as a message written in the portal.

    The patient must have a portal account: a message is written by someone who can read
    the answer. Raises MessagingError (nothing stored) on an empty or unusable text."""
    if patient.user is None or not patient.user.is_active:
        raise MessagingError(_("The patient has no portal account."), field="From")
    body = _clean_text(body, field="Body", limit=BODY_MAX, what=_("a message"))
    thread = text_thread(patient)
    if thread is None:
        with in_language_of(patient):
            subject = _("Text message")
        thread = Thread.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            subject=subject,
            started_by=patient.user,
            started_at=timezone.now(),
        )
    return _add_message(
        request=None, by=patient.user, thread=thread, body=body, upload=None, via="text message"
    )


def may_handle_messages(user: User, clinic_id: int) -> bool:
    roles = frozenset(
        StaffMembership.objects.active()
        .filter(clinic_id=clinic_id, user=user)
        .values_list("role", flat=True)
    )
    return roles_allow(roles, Perm.HANDLE_MESSAGES)


@transaction.atomic
def assign(
    *, request: HttpRequest | None, by: User, thread: Thread, assignee: User | None
) -> Thread:
    """Give the thread to a member of staff who handles messages here (or to no one)."""
    if assignee is not None and not may_handle_messages(assignee, thread.clinic_id):
        raise MessagingError(
            _("Choose someone at this clinic who answers messages."), field="assignee"
        )
    before = thread.assigned_to_id
    Thread.objects.filter(pk=thread.pk).update(assigned_to=assignee)
    thread.assigned_to = assignee
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=thread.clinic_id,
        patient_id=thread.patient_id,
        obj=thread,
        detail={"assigned_to": [before, assignee.pk if assignee else None]},
    )
    return thread


@transaction.atomic
def hide_from_patient(
    *, request: HttpRequest | None, by: User, message: Message, reason: str
) -> Message:
    """Hide a message from the patient's view; it stays in the record and staff still see it."""
    reason = _clean_text(reason, field="reason", limit=REASON_MAX, what=_("why it is hidden"))
    locked = Message.objects.select_for_update().select_related("thread").get(pk=message.pk)
    if locked.hidden_from_patient:
        raise MessagingError(_("This message is already hidden from the patient."), field="reason")
    locked.hidden_from_patient, locked.hidden_at = True, timezone.now()
    locked.hidden_by, locked.hidden_reason = by, reason
    locked.save(update_fields=["hidden_from_patient", "hidden_at", "hidden_by", "hidden_reason"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=locked.clinic_id,
        patient_id=locked.thread.patient_id,
        obj=locked,
        detail={"step": "hidden from patient", "reason": reason},
    )
    return locked


def _mark_read(*, thread: Thread, user: User, at: datetime) -> None:
    ThreadRead.objects.update_or_create(
        thread=thread, user=user, defaults={"clinic_id": thread.clinic_id, "read_at": at}
    )


@transaction.atomic
def record_read(
    *, request: HttpRequest, user: User, thread: Thread, what: str, mark: bool = True
) -> None:
    """A read of a thread: its audit event, and (unless `mark` is off, as when a refused
    form is shown again and nothing may change) the reader's unread mark cleared."""
    audit.record(
        request=request,
        user=user,
        action=Action.VIEW,
        clinic_id=thread.clinic_id,
        patient_id=thread.patient_id,
        obj=thread,
        detail={"section": what},
    )
    if mark:
        _mark_read(thread=thread, user=user, at=timezone.now())


@transaction.atomic
def record_attachment_read(*, request: HttpRequest, user: User, attachment: Attachment) -> None:
    audit.record(
        request=request,
        user=user,
        action=Action.VIEW,
        clinic_id=attachment.clinic_id,
        patient_id=attachment.message.thread.patient_id,
        obj=attachment,
        detail={"message": attachment.message_id, "type": attachment.content_type},
    )
