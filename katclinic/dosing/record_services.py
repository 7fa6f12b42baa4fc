"""Support notes and the Spravato REMS monitoring form of a session."""

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
from katclinic.dosing import rems
from katclinic.dosing.models import DosingSession, RemsForm, SupportNote
from katclinic.dosing.services import DosingError, _audit
from katclinic.lib.jsonvalue import JSONValue
from katclinic.lib.parse import parse_date, parse_int

NOTE_FIELDS = (
    "intention",
    "concerns",
    "agreed_support",
    "supportive_touch_consent",
    "observations",
    "guidance",
    "integration",
)


def _note_hash(note: SupportNote) -> str:
    content = {name: getattr(note, name) for name in NOTE_FIELDS}
    content |= {
        "kind": note.kind,
        "session": note.session_id,
        "author": note.author_id,
        "addendum_to": note.addendum_to_id,
        "signed_at": note.signed_at.isoformat() if note.signed_at else "",
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _sign(note: SupportNote) -> None:
    note.signed_at = timezone.now()
    note.content_hash = _note_hash(note)


@transaction.atomic
def write_note(
    *,
    session: DosingSession,
    kind: str,
    fields: Mapping[str, object],
    sign: bool,
    by: User,
    request: HttpRequest | None = None,
) -> SupportNote:
    """A preparation, during-session or integration note on this session, signed now or later."""
    if kind not in SupportNote.Kind.values:
        raise DosingError(f"kind: {kind!r} is not a kind of note.")
    values = {k: v for k, v in fields.items() if k in NOTE_FIELDS}
    if not any(v not in (None, "") for v in values.values()):
        raise DosingError("Write something before saving the note.")
    note = SupportNote(
        clinic_id=session.clinic_id,
        patient_id=session.patient_id,
        session=session,
        kind=kind,
        author=by,
        **values,
    )
    if sign:
        _sign(note)
    note.save()
    _audit(request, by, session, note, Action.SIGN if sign else Action.CREATE, kind=kind)
    return note


@transaction.atomic
def sign_note(*, note: SupportNote, by: User, request: HttpRequest | None = None) -> SupportNote:
    note = (
        SupportNote.objects.select_for_update(of=("self",))
        .select_related("session")
        .get(pk=note.pk)
    )
    if note.author_id != by.pk:
        raise DosingError("Only the author signs a note.")
    if note.signed_at is not None:
        raise DosingError("This note is already signed; add an addendum instead.")
    _sign(note)
    note.save(update_fields=["signed_at", "content_hash"])
    _audit(request, by, note.session, note, Action.SIGN, sha256=note.content_hash)
    return note


@transaction.atomic
def add_addendum(
    *, note: SupportNote, text: str, by: User, request: HttpRequest | None = None
) -> SupportNote:
    """Later words on a signed note: a new signed note pointing at it; the original stays."""
    note = SupportNote.objects.select_related("session").get(pk=note.pk)
    if note.signed_at is None:
        raise DosingError("The note is not signed yet; its author can still sign it as it is.")
    if not text.strip():
        raise DosingError("text: write the addendum.")
    addendum = SupportNote(
        clinic_id=note.clinic_id,
        patient_id=note.patient_id,
        session=note.session,
        kind=note.kind,
        observations=text.strip(),
        addendum_to=note,
        author=by,
    )
    _sign(addendum)
    addendum.save()
    _audit(request, by, note.session, addendum, Action.SIGN, addendum_to=note.pk)
    return addendum


def note_intact(note: SupportNote) -> bool:
    return note.signed_at is not None and _note_hash(note) == note.content_hash


# ---- REMS form -------------------------------------------------------------------------------


def _typed(form: RemsForm) -> dict[str, object]:
    data: dict[str, object] = dict(form.data)
    for spec in rems.FIELDS:
        value = data.get(spec.key)
        if spec.kind == "date" and isinstance(value, str) and value:
            data[spec.key] = parse_date(value, spec.key)
        if spec.kind == "minutes" and isinstance(value, str) and value.strip():
            data[spec.key] = parse_int(value, spec.key, min=0, max=10**6)
    return data


def form_missing(form: RemsForm) -> list[str]:
    return rems.missing_fields(form.data)


@transaction.atomic
def update_rems_form(
    *, form: RemsForm, values: Mapping[str, JSONValue], by: User, request: HttpRequest | None = None
) -> RemsForm:
    form = (
        RemsForm.objects.select_for_update(of=("self",)).select_related("session").get(pk=form.pk)
    )
    if form.completed_at is not None:
        raise DosingError("This form is complete and can no longer change.")
    changed = sorted(k for k, v in values.items() if k in rems.FIELD_KEYS and form.data.get(k) != v)
    form.data = form.data | {k: values[k] for k in changed}
    form.save(update_fields=["data"])
    _audit(request, by, form.session, form, Action.UPDATE, fields=changed)
    return form


@transaction.atomic
def complete_rems_form(*, form: RemsForm, by: User, request: HttpRequest | None = None) -> RemsForm:
    """Mark complete: refused while any field is missing or a value cannot go on the form."""
    form = (
        RemsForm.objects.select_for_update(of=("self",)).select_related("session").get(pk=form.pk)
    )
    missing = rems.missing_fields(form.data)
    found = rems.problems(_typed(form))
    if missing or found:
        labels = {f.key: f.label for f in rems.FIELDS}
        raise DosingError(
            "Cannot complete: " + "; ".join([f"missing {labels[k]}" for k in missing] + found) + "."
        )
    form.completed_by, form.completed_at = by, timezone.now()
    form.save(update_fields=["completed_by", "completed_at"])
    _audit(request, by, form.session, form, Action.UPDATE, completed=True)
    return form


def rems_pdf(*, form: RemsForm, by: User, request: HttpRequest | None = None) -> bytes:
    """The printable form; every download is recorded as an export."""
    content = rems.render_pdf(_typed(form))
    audit.record(
        request=request,
        user=by,
        action=Action.EXPORT,
        clinic_id=form.clinic_id,
        patient_id=form.session.patient_id,
        obj=form,
        detail={"format": "pdf"},
    )
    return content
