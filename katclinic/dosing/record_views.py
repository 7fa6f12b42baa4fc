"""Support notes, the treatment-floor board and the REMS monitoring forms."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.dosing import board, record_services, rems
from katclinic.dosing.access import get_note, get_rems_form, get_session_for_user
from katclinic.dosing.forms import AddendumForm, NoteForm, RemsDataForm
from katclinic.dosing.models import RemsForm
from katclinic.dosing.services import DosingError


@staff_view(Perm.WRITE_SUPPORT_NOTE)
@require_http_methods(["GET", "POST"])
def note_new(request: StaffRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, Perm.WRITE_SUPPORT_NOTE)
    form = NoteForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        kind, sign = data.pop("kind"), data.pop("sign")
        try:
            record_services.write_note(
                session=session, kind=kind, fields=data, sign=sign, by=request.user, request=request
            )
            return redirect("dosing:session", session.pk)
        except DosingError as exc:
            error = str(exc)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "dosing/form.html",
        {
            "form": form,
            "patient": session.patient,
            "session": session,
            "title": "Support note",
            "error": error,
        },
        status=status,
    )


@staff_view(Perm.WRITE_SUPPORT_NOTE)
@require_POST
def note_sign(request: StaffRequest, note_id: int) -> HttpResponse:
    note = get_note(request, note_id)
    try:
        record_services.sign_note(note=note, by=request.user, request=request)
    except DosingError as exc:
        return render(
            request, "dosing/refused.html", {"error": str(exc), "session": note.session}, status=400
        )
    return redirect("dosing:session", note.session_id)


@staff_view(Perm.WRITE_SUPPORT_NOTE)
@require_POST
def note_addendum(request: StaffRequest, note_id: int) -> HttpResponse:
    note = get_note(request, note_id)
    form = AddendumForm(request.POST)
    error = "" if form.is_valid() else "text: write the addendum."
    if not error:
        try:
            record_services.add_addendum(
                note=note, text=form.cleaned_data["text"], by=request.user, request=request
            )
        except DosingError as exc:
            error = str(exc)
    if error:
        context = {"error": error, "session": note.session}
        return render(request, "dosing/refused.html", context, status=400)
    return redirect("dosing:session", note.session_id)


@staff_view(Perm.VIEW_CLINICAL)
def floor_board(request: StaffRequest) -> HttpResponse:
    chairs = board.floor(request.clinic, timezone.now())
    return render(
        request,
        "dosing/board.html",
        {"chairs": chairs, "now": timezone.now(), "open_session": True},
    )


@staff_view(Perm.VIEW_CLINICAL)
def floor_board_rows(request: StaffRequest) -> HttpResponse:
    """The polled part of the board; polling sends X-Background-Refresh so sessions may idle out."""
    chairs = board.floor(request.clinic, timezone.now())
    return render(
        request,
        "dosing/_board_rows.html",
        {"chairs": chairs, "now": timezone.now(), "open_session": True},
    )


@staff_view(Perm.RUN_SESSION)
def rems_queue(request: StaffRequest) -> HttpResponse:
    forms = RemsForm.objects.for_clinic(request.clinic).select_related(
        "session__patient", "completed_by"
    )
    due = [(form, record_services.form_missing(form)) for form in forms.due()]
    done = forms.filter(completed_at__isnull=False).order_by("-completed_at")[:20]
    return render(
        request, "dosing/rems_queue.html", {"due": due, "done": done, "today": timezone.localdate()}
    )


@staff_view(Perm.RUN_SESSION)
@require_http_methods(["GET", "POST"])
def rems_edit(request: StaffRequest, form_id: int) -> HttpResponse:
    rems_form = get_rems_form(request, form_id)
    form = RemsDataForm(request.POST or None, initial_data=rems_form.data)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            record_services.update_rems_form(
                form=rems_form, values=form.values(), by=request.user, request=request
            )
            return redirect("dosing:rems_edit", rems_form.pk)
        except DosingError as exc:
            error = str(exc)
    if request.method == "GET":
        audit.record(
            request=request,
            action=Action.VIEW,
            patient_id=rems_form.session.patient_id,
            obj=rems_form,
        )
    return render(
        request,
        "dosing/rems_form.html",
        {
            "rems_form": rems_form,
            "form": form,
            "error": error,
            "missing": record_services.form_missing(rems_form),
            "deadline": rems_form.due_on,
            "title": rems.TITLE,
        },
        status=200 if request.method == "GET" else 400,
    )


@staff_view(Perm.RUN_SESSION)
@require_POST
def rems_complete(request: StaffRequest, form_id: int) -> HttpResponse:
    rems_form = get_rems_form(request, form_id)
    try:
        record_services.complete_rems_form(form=rems_form, by=request.user, request=request)
    except DosingError as exc:
        form = RemsDataForm(initial_data=rems_form.data)
        return render(
            request,
            "dosing/rems_form.html",
            {
                "rems_form": rems_form,
                "form": form,
                "error": str(exc),
                "missing": record_services.form_missing(rems_form),
                "deadline": rems_form.due_on,
                "title": rems.TITLE,
            },
            status=400,
        )
    return redirect("dosing:rems_queue")


@staff_view(Perm.RUN_SESSION)
def rems_pdf(request: StaffRequest, form_id: int) -> HttpResponse:
    rems_form = get_rems_form(request, form_id)
    content = record_services.rems_pdf(form=rems_form, by=request.user, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="rems-monitoring-{rems_form.session_id}.pdf"'
    )
    return response
