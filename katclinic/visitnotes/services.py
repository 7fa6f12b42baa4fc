"""Every write to visit notes: each in one transaction with its audit event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.patients.models import Patient
from katclinic.scheduling.models import LIVE_STATES, Appointment
from katclinic.visitnotes.kinds import TEMPLATES, NoteTemplate
from katclinic.visitnotes.models import NoteAddendum, Status, VisitNote

MAX_TEXT = 8000


class NoteError(Exception):
    """A refused write; `field` names the part of the form at fault ("" for the whole note)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def clean_content(template: NoteTemplate, data: Mapping[str, object]) -> dict[str, str]:
    """The template's fields from `data`, trimmed; anything else is dropped. Raises NoteError
    naming the first field that is missing or not one of its answers."""
    content: dict[str, str] = {}
    for field in template.fields:
        value = data.get(field.key, "")
        value = value.strip() if isinstance(value, str) else ""
        if field.required and not value:
            raise NoteError(f"{field.label}: this is required.", field.key)
        if field.choices and value and value not in dict(field.choices):
            raise NoteError(f"{field.label}: choose one of the answers.", field.key)
        if len(value) > MAX_TEXT:
            raise NoteError(f"{field.label}: at most {MAX_TEXT} characters.", field.key)
        content[field.key] = value
    return content


def _hash(payload: Mapping[str, object]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def note_hash(note: VisitNote) -> str:
    """The hash a signature fixes: the note's kind, answers, patient, visit, author and time."""
    return _hash(
        {
            "note": note.pk,
            "clinic": note.clinic_id,
            "patient": note.patient_id,
            "appointment": note.appointment_id,
            "kind": note.kind,
            "content": note.content,
            "author": note.author_id,
            "signed_by": note.signed_by_id,
            "signed_at": note.signed_at.isoformat() if note.signed_at else "",
        }
    )


def _check_appointment(patient: Patient, appointment: Appointment | None) -> None:
    if appointment is None:
        return
    if appointment.patient_id != patient.pk or appointment.clinic_id != patient.clinic_id:
        raise NoteError("Visit: not a visit of this patient.", "appointment")
    if appointment.state not in LIVE_STATES:
        raise NoteError("Visit: this visit was cancelled or missed.", "appointment")


def _sign(note: VisitNote, by: User, request: HttpRequest | None) -> None:
    note.status = Status.SIGNED
    note.signed_by = by
    note.signed_at = timezone.now()
    note.content_hash = note_hash(note)
    note.save(update_fields=["status", "signed_by", "signed_at", "content_hash"])
    audit.record(
        request=request,
        action=Action.SIGN,
        clinic_id=note.clinic_id,
        patient_id=note.patient_id,
        obj=note,
        user=by,
        detail={"kind": note.kind, "hash": note.content_hash},
    )


def create_note(
    *,
    patient: Patient,
    kind: str,
    content: Mapping[str, object],
    appointment: Appointment | None = None,
    by: User,
    request: HttpRequest | None = None,
    sign: bool = False,
) -> VisitNote:
    template = TEMPLATES.get(kind)
    if template is None:
        raise NoteError("Note type: choose one of the note types.", "kind")
    _check_appointment(patient, appointment)
    cleaned = clean_content(template, content)
    with transaction.atomic():
        now = timezone.now()
        note = VisitNote.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            appointment=appointment,
            kind=kind,
            content=cleaned,
            author=by,
            created_at=now,
            updated_at=now,
        )
        audit.record(
            request=request,
            action=Action.CREATE,
            clinic_id=note.clinic_id,
            patient_id=patient.pk,
            obj=note,
            user=by,
            detail={"kind": kind, "appointment": appointment.pk if appointment else None},
        )
        if sign:
            _sign(note, by, request)
    return note


def _locked(note: VisitNote, by: User) -> VisitNote:
    """The note's row, locked, if `by` may still change it; else NoteError."""
    current = VisitNote.objects.select_for_update().get(pk=note.pk)
    if current.status != Status.DRAFT:
        raise NoteError("This note is signed and cannot change; add an addendum instead.")
    if current.author_id != by.pk:
        raise NoteError("Only the author may change or sign a draft note.")
    return current


def update_note(
    *,
    note: VisitNote,
    content: Mapping[str, object],
    by: User,
    request: HttpRequest | None = None,
    sign: bool = False,
) -> VisitNote:
    cleaned = clean_content(note.template, content)
    with transaction.atomic():
        current = _locked(note, by)
        changed = sorted(k for k in cleaned if current.content.get(k, "") != cleaned[k])
        current.content = cleaned
        current.updated_at = timezone.now()
        current.save(update_fields=["content", "updated_at"])
        audit.record(
            request=request,
            action=Action.UPDATE,
            clinic_id=current.clinic_id,
            patient_id=current.patient_id,
            obj=current,
            user=by,
            detail={"kind": current.kind, "changed": changed},
        )
        if sign:
            _sign(current, by, request)
    return current


def sign_note(*, note: VisitNote, by: User, request: HttpRequest | None = None) -> VisitNote:
    with transaction.atomic():
        current = _locked(note, by)
        clean_content(current.template, current.content)
        _sign(current, by, request)
    return current


def add_addendum(
    *, note: VisitNote, text: str, by: User, request: HttpRequest | None = None
) -> NoteAddendum:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise NoteError("Addendum: write the addendum.", "text")
    if len(text) > MAX_TEXT:
        raise NoteError(f"Addendum: at most {MAX_TEXT} characters.", "text")
    with transaction.atomic():
        current = VisitNote.objects.select_for_update().get(pk=note.pk)
        if current.status != Status.SIGNED:
            raise NoteError("A draft has no addenda: change the draft itself.")
        now = timezone.now()
        addendum = NoteAddendum(
            clinic_id=current.clinic_id, note=current, text=text, author=by, signed_at=now
        )
        addendum.content_hash = _hash(
            {
                "note": current.pk,
                "note_hash": current.content_hash,
                "text": text,
                "author": by.pk,
                "signed_at": now.isoformat(),
            }
        )
        addendum.save()
        audit.record(
            request=request,
            action=Action.SIGN,
            clinic_id=current.clinic_id,
            patient_id=current.patient_id,
            obj=addendum,
            user=by,
            detail={"note": current.pk, "hash": addendum.content_hash},
        )
    return addendum
