"""Visit notes on the patient chart: the list, the form of each kind, signing and addenda."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    require_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs
from katclinic.scheduling.models import Appointment
from katclinic.visitnotes import queue, services
from katclinic.visitnotes.access import get_note
from katclinic.visitnotes.forms import AddendumForm, NoteForm
from katclinic.visitnotes.kinds import FOR_APPOINTMENT_KIND, TEMPLATES, NoteTemplate
from katclinic.visitnotes.models import Status, VisitNote
from katclinic.visitnotes.services import NoteError

# The loosest of the note permissions: each kind's own is checked once the kind is known.
ANY_NOTE = Perm.WRITE_FOLLOW_UP_NOTE


def _writable(request: StaffRequest) -> list[NoteTemplate]:
    return [t for t in TEMPLATES.values() if has_perm(request, t.perm)]


def _number(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def chart(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    notes = list(VisitNote.objects.for_clinic(request.clinic).filter(patient=patient).listed())
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "visit notes", "notes": [n.pk for n in notes]},
    )
    writable = _writable(request)
    unwritten = (
        list(
            Appointment.objects.for_clinic(request.clinic)
            .filter(patient=patient, state__in=queue.HAPPENED)
            .exclude(visit_notes__status=Status.SIGNED)
            .select_related("staff")
            .only("kind", "start", "staff__full_name")
            .order_by("-start")[:10]
        )
        if writable
        else []
    )
    return render(
        request,
        "visitnotes/chart.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "visitnotes"),
            "notes": notes,
            "writable": writable,
            "unwritten": unwritten,
        },
    )


def _appointment(request: StaffRequest, patient: Patient, raw: str | None) -> Appointment | None:
    """The visit named in the form, or NoteError naming the field."""
    if not (raw or "").strip():
        return None
    number = _number(raw)
    found = (
        Appointment.objects.for_clinic(request.clinic).filter(pk=number, patient=patient).first()
        if number is not None
        else None
    )
    if found is None:
        raise NoteError("Visit: not a visit of this patient.", "appointment")
    return found


def _form_page(request: StaffRequest, context: dict[str, Any], status: int) -> HttpResponse:
    return render(request, "visitnotes/form.html", context, status=status)


def _kind(raw: str | None, appointment: Appointment | None) -> str:
    """The note type asked for, else the one the visit's kind calls for."""
    kind = raw or ""
    if not kind and appointment is not None:
        kind = FOR_APPOINTMENT_KIND.get(appointment.kind, "")
    return kind


@staff_view(ANY_NOTE)
@require_http_methods(["GET", "POST"])
def new(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, ANY_NOTE)
    data = request.POST if request.method == "POST" else request.GET
    context: dict[str, Any] = {
        "patient": patient,
        "tabs": chart_tabs(request, patient, "visitnotes"),
        "writable": _writable(request),
    }
    try:
        appointment = _appointment(request, patient, data.get("appointment"))
    except NoteError as exc:
        return _form_page(request, {**context, "error": str(exc)}, 400)
    context["appointment"] = appointment
    template = TEMPLATES.get(_kind(data.get("kind"), appointment))
    if template is None:
        if request.method == "POST":
            error = "Note type: choose one of the note types."
            return _form_page(request, {**context, "error": error}, 400)
        return _form_page(request, context, 200)
    require_perm(request, template.perm)
    form = NoteForm(template, request.POST if request.method == "POST" else None)
    context.update(template=template, form=form)
    if request.method == "GET":
        return _form_page(request, context, 200)
    return _create(request, form, context, patient=patient, appointment=appointment)


def _create(
    request: StaffRequest,
    form: NoteForm,
    context: dict[str, Any],
    *,
    patient: Patient,
    appointment: Appointment | None,
) -> HttpResponse:
    """Store the posted note (signed when asked) and show it, or the form with what is wrong."""
    if not form.is_valid():
        return _form_page(request, {**context, "errors": form.named_errors()}, 400)
    template = form.template
    try:
        note = services.create_note(
            patient=patient,
            kind=template.kind.value,
            content=form.content(),
            appointment=appointment,
            by=request.user,
            request=request,
            sign=form.cleaned_data["sign"],
        )
    except NoteError as exc:
        return _form_page(request, {**context, "error": str(exc)}, 400)
    messages.success(
        request, f"{template.label} note {'signed' if note.is_signed else 'saved as a draft'}."
    )
    return redirect("visitnotes:note", note.pk)


def _note_context(request: StaffRequest, note: VisitNote) -> dict[str, Any]:
    may_write = has_perm(request, note.template.perm)
    return {
        "patient": note.patient,
        "tabs": chart_tabs(request, note.patient, "visitnotes"),
        "note": note,
        "addenda": list(note.addenda.select_related("author")),
        "may_edit": may_write and not note.is_signed and note.author_id == request.user.pk,
        "may_add": may_write and note.is_signed,
    }


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def note(request: StaffRequest, note_id: int) -> HttpResponse:
    found = get_note(request, note_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=found.patient_id,
        obj=found,
        detail={"kind": found.kind},
    )
    context = _note_context(request, found)
    context["addendum_form"] = AddendumForm()
    return render(request, "visitnotes/note.html", context)


def _refused(
    request: StaffRequest, note: VisitNote, error: str, form: AddendumForm | None = None
) -> HttpResponse:
    context = _note_context(request, note)
    context.update(error=error, addendum_form=form or AddendumForm())
    return render(request, "visitnotes/note.html", context, status=400)


@staff_view(ANY_NOTE)
@require_http_methods(["GET", "POST"])
def edit(request: StaffRequest, note_id: int) -> HttpResponse:
    found = get_note(request, note_id, ANY_NOTE)
    require_perm(request, found.template.perm)
    if found.is_signed:
        return _refused(request, found, "This note is signed and cannot change; add an addendum.")
    if found.author_id != request.user.pk:
        return _refused(request, found, "Only the author may change or sign a draft note.")
    posted = request.method == "POST"
    form = NoteForm(
        found.template,
        request.POST if posted else None,
        initial=found.content if not posted else None,
    )
    context = {
        "patient": found.patient,
        "tabs": chart_tabs(request, found.patient, "visitnotes"),
        "template": found.template,
        "form": form,
        "note": found,
        "appointment": found.appointment,
    }
    if not posted:
        return _form_page(request, context, 200)
    if not form.is_valid():
        return _form_page(request, {**context, "errors": form.named_errors()}, 400)
    try:
        updated = services.update_note(
            note=found,
            content=form.content(),
            by=request.user,
            request=request,
            sign=form.cleaned_data["sign"],
        )
    except NoteError as exc:
        return _form_page(request, {**context, "error": str(exc)}, 400)
    messages.success(request, "Note signed." if updated.is_signed else "Draft saved.")
    return redirect("visitnotes:note", updated.pk)


@staff_view(ANY_NOTE)
@require_POST
def sign(request: StaffRequest, note_id: int) -> HttpResponse:
    found = get_note(request, note_id, ANY_NOTE)
    require_perm(request, found.template.perm)
    try:
        services.sign_note(note=found, by=request.user, request=request)
    except NoteError as exc:
        return _refused(request, found, str(exc))
    messages.success(request, "Note signed.")
    return redirect("visitnotes:note", found.pk)


@staff_view(ANY_NOTE)
@require_POST
def addendum(request: StaffRequest, note_id: int) -> HttpResponse:
    found = get_note(request, note_id, ANY_NOTE)
    require_perm(request, found.template.perm)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        problem = "Addendum: write the addendum (at most 8000 characters)."
        return _refused(request, found, problem, form)
    try:
        services.add_addendum(
            note=found, text=form.cleaned_data["text"], by=request.user, request=request
        )
    except NoteError as exc:
        if exc.field and exc.field not in form.errors:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return _refused(request, found, str(exc), form)
    messages.success(request, "Addendum signed and added.")
    return redirect("visitnotes:note", found.pk)


@staff_view(ANY_NOTE)
@require_GET
def mine(request: StaffRequest) -> HttpResponse:
    """The signed-in clinician's visits today and visits still waiting for a signed note."""
    today = list(queue.visits_today(request.clinic, request.user))
    due = list(queue.notes_due(request.clinic, request.user, request.roles)[:100])
    audit.record_list(
        request=request, patient_ids=[a.patient_id for a in today + due], what="my visit notes"
    )
    return render(request, "visitnotes/mine.html", {"today": today, "due": due})
