"""Support notes and the Spravato REMS monitoring form of a session."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.dosing import rems
from katclinic.dosing.models import (
    Administration,
    DosingSession,
    RemsEnrollment,
    RemsForm,
    SupportNote,
)
from katclinic.dosing.services import DosingError, _audit
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
    fields: dict[str, Any],
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


def _bp(checkpoint: Any) -> str | None:
    return f"{checkpoint.systolic}/{checkpoint.diastolic}" if checkpoint else None


def _bp_readings(session: DosingSession) -> dict[str, str | None]:
    readings = list(session.checkpoints.filter(systolic__isnull=False).order_by("taken_at", "pk"))
    pre = [c for c in readings if c.label == "pre-dose"]
    after = [c for c in readings if c.label != "pre-dose"]
    start = session.dose_started_at
    near_40 = None
    if start is not None and after:
        # The REMS asks for BP "about 40 minutes" after dosing: the reading nearest to it.
        near_40 = min(after, key=lambda c: abs((c.taken_at - start).total_seconds() / 60 - 40))
    return {
        "bp_pre_dose": _bp(pre[-1] if pre else None),
        "bp_40_min": _bp(near_40),
        "bp_completion": _bp(after[-1] if after else None),
    }


def _minutes(session: DosingSession, until: Any) -> int | None:
    if session.dose_started_at is None or until is None:
        return None
    return int((until - session.dose_started_at).total_seconds() // 60)


def _dose(session: DosingSession) -> dict[str, Any]:
    doses = list(session.administrations.filter(is_adjunct=False))
    total = sum(a.dose_mg for a in doses)
    key = {56: "56", 84: "84"}.get(int(total)) if doses and total == int(total) else None
    lots = sorted({a.lot_number for a in doses})
    return {
        "dose": key or ("other" if doses else None),
        "dose_other_mg": None if key else (str(total) if doses else None),
        "lot_number": ", ".join(lots) or None,
    }


def _effects(session: DosingSession) -> dict[str, Any]:
    kinds = set(session.side_effects.values_list("kind", flat=True))
    checkpoints = session.checkpoints.exclude(label="pre-dose")
    serious = [
        f"{e.get_kind_display()}: {e.what_was_done}"
        for e in session.side_effects.filter(serious=True)
    ]
    return {
        "sedation": "sedation" in kinds or checkpoints.filter(moaas__lt=5).exists(),
        "dissociation": "dissociation" in kinds or checkpoints.filter(cadss6__gt=0).exists(),
        "respiratory_depression": session.alerts.filter(
            measure__in=["spo2", "respiratory_rate"]
        ).exists(),
        "serious_adverse_events": "; ".join(serious) or "None",
    }


def prefill(session: DosingSession) -> dict[str, Any]:
    """Every REMS field the session record can answer; the rest stay empty for staff."""
    patient = session.patient
    meds = patient.medications.filter(is_active=True)
    earlier = DosingSession.objects.filter(
        patient=patient, route="intranasal", scheduled_for__lt=session.scheduled_for
    )
    gate_vitals = (
        session.gate_checks.filter(key="vitals_within_limits").order_by("-evaluation").first()
    )
    last = session.discharge_assessments.order_by("-assessed_at").first()
    nurse = Administration.objects.filter(session=session).select_related("given_by").first()
    data: dict[str, Any] = {
        "patient_name": patient.full_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.get_sex_at_birth_display(),
        "first_treatment": not earlier.filter(administrations__is_adjunct=False).exists(),
        "patient_enrolled": RemsEnrollment.objects.filter(patient=patient).exists(),
        "benzodiazepines": meds.filter(is_benzodiazepine=True).exists(),
        "non_benzo_hypnotics": None,  # no medication flag for these: staff answer it
        "psychostimulants": meds.filter(is_psychostimulant=True).exists(),
        "maois": meds.filter(is_maoi=True).exists(),
        "monitoring_hcp": nurse.given_by.full_name if nurse else None,
        "monitoring_setting": session.clinic.name,
        "session_date": timezone.localtime(session.scheduled_for).date().isoformat(),
        "total_monitoring_minutes": _minutes(session, session.discharged_at),
        "minutes_ready_without_2h_rule": _minutes(session, session.clinically_ready_at),
        "vitals_ok_pre_dose": None if gate_vitals is None else (gate_vitals.result == "pass"),
        "vitals_ok_at_completion": last.vitals_acceptable if last else None,
    }
    return data | _dose(session) | _bp_readings(session) | _effects(session)


def ensure_rems_form(session: DosingSession) -> RemsForm:
    """Create or refresh the session's form (inside the caller's transaction); staff entries stay."""
    day = timezone.localtime(session.scheduled_for).date()
    form, created = RemsForm.objects.get_or_create(
        session=session, defaults={"clinic_id": session.clinic_id, "due_on": rems.deadline(day)}
    )
    if form.completed_at is None:
        filled = prefill(session)
        form.data = filled | {
            k: v
            for k, v in form.data.items()
            if v not in (None, "") and filled.get(k) in (None, "")
        }
        form.save(update_fields=["data"])
    return form


def _typed(form: RemsForm) -> dict[str, Any]:
    data = dict(form.data)
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
    *, form: RemsForm, values: dict[str, Any], by: User, request: HttpRequest | None = None
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
