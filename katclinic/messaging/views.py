"""Staff pages of secure messaging: the clinic inbox, a thread, and the chart tab."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.lib.forms import refuse
from katclinic.messaging import services
from katclinic.messaging.access import (
    get_attachment_for_staff,
    get_message_for_staff,
    get_patient_for_messages,
    get_thread_for_staff,
)
from katclinic.messaging.clinic_settings import ATTACHMENT_MAX_MB, REPLY_TIME
from katclinic.messaging.forms import (
    AssignForm,
    FindPatientForm,
    HideForm,
    InboxFilter,
    ReplyForm,
    StartForm,
)
from katclinic.messaging.models import Attachment, Thread
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs

P = Perm.HANDLE_MESSAGES
INBOX_ROWS = 200


def _inbox_rows(request: StaffRequest, form: InboxFilter) -> QuerySet[Thread]:
    rows = Thread.objects.for_clinic(request.clinic).select_related("patient", "assigned_to")
    rows = rows.annotate_unread(request.user)
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("assigned") == "me":
        rows = rows.filter(assigned_to=request.user)
    elif data.get("assigned") == "none":
        rows = rows.filter(assigned_to__isnull=True)
    if data.get("show") == "waiting":
        rows = rows.waiting()
    elif data.get("show") == "unread":
        rows = rows.unread_for(request.user)
    # Longest-waiting first, then the rest by their latest activity.
    return rows.order_by("waiting_since", "-last_patient_message_at", "-started_at")


@staff_view(P)
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    form = InboxFilter(request.GET)
    status = 200 if form.is_valid() else 400
    threads = list(_inbox_rows(request, form)[:INBOX_ROWS]) if status == 200 else []
    audit.record_list(
        request=request, patient_ids=[t.patient_id for t in threads], what="message inbox"
    )
    context = {"form": form, "threads": threads, "find_form": FindPatientForm()}
    return render(request, "messaging/inbox.html", context, status=status)


@staff_view(P)
@require_GET
def find_patient(request: StaffRequest) -> HttpResponse:
    """From the inbox: a record number leads to a new thread with that patient."""
    form = FindPatientForm(request.GET)
    patient = None
    if form.is_valid():
        mrn = form.cleaned_data["mrn"].strip()
        patient = Patient.objects.filter(clinic=request.clinic, mrn__iexact=mrn).first()
        if patient is None:
            form.add_error("mrn", "No patient of this clinic has that record number.")
    if patient is not None:
        return redirect("messaging:start", patient_id=patient.pk)
    context = {"form": InboxFilter(), "threads": [], "find_form": form}
    return render(request, "messaging/inbox.html", context, status=400)


def compose_context(clinic_id: int) -> dict[str, Any]:
    """What every compose screen states: the reply time and that no one watches around the
    clock (with the clinic's crisis resources, shown by the template)."""
    return {
        "reply_time": REPLY_TIME.value(clinic_id),
        "max_mb": ATTACHMENT_MAX_MB.value(clinic_id),
    }


@staff_view(P)
@require_http_methods(["GET", "POST"])
def start(request: StaffRequest, patient_id: int) -> HttpResponse:
    """A new thread to a patient, from the chart or the inbox."""
    patient = get_patient_for_messages(request, patient_id)
    extra = compose_context(patient.clinic_id)
    form = StartForm(request.POST or None, request.FILES or None, max_mb=extra["max_mb"])
    if request.method == "POST" and form.is_valid():
        try:
            thread, _ = services.start_thread(
                request=request,
                by=request.user,
                patient=patient,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["file"],
            )
        except services.MessagingError as error:
            refuse(form, error)
        else:
            messages.success(request, "Message sent. The patient is told one is waiting.")
            return redirect("messaging:thread", thread_id=thread.pk)
    context = {"patient": patient, "form": form, **extra}
    return render(request, "messaging/start.html", context, status=400 if form.errors else 200)


def assignable(request: StaffRequest) -> list[tuple[str, str]]:
    roles = PERMISSIONS[P]
    people = (
        StaffMembership.objects.active()
        .filter(clinic=request.clinic, role__in=roles)
        .values_list("user_id", "user__full_name")
        .distinct()
        .order_by("user__full_name")
    )
    return [(str(pk), name) for pk, name in people]


def _thread_page(request: StaffRequest, thread: Thread, **forms: Any) -> HttpResponse:
    extra = compose_context(thread.clinic_id)
    status = 400 if any(f.errors for f in forms.values()) else 200
    services.record_read(
        request=request,
        user=request.user,
        thread=thread,
        what="message thread",
        mark=status == 200,
    )
    context = {
        "thread": thread,
        "patient": thread.patient,
        "thread_messages": thread.messages.select_related("author", "hidden_by").prefetch_related(
            "attachments"
        ),
        "reply_form": forms.get("reply_form") or ReplyForm(max_mb=extra["max_mb"]),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"assignee": thread.assigned_to_id}, choices=assignable(request)),
        "hide_form": forms.get("hide_form") or HideForm(),
        **extra,
    }
    return render(request, "messaging/thread.html", context, status=status)


@staff_view(P)
@require_GET
def thread(request: StaffRequest, thread_id: int) -> HttpResponse:
    return _thread_page(request, get_thread_for_staff(request, thread_id))


@staff_view(P)
@require_POST
def staff_reply(request: StaffRequest, thread_id: int) -> HttpResponse:
    found = get_thread_for_staff(request, thread_id)
    max_mb = ATTACHMENT_MAX_MB.value(found.clinic_id)
    form = ReplyForm(request.POST, request.FILES, max_mb=max_mb)
    if form.is_valid():
        try:
            services.reply(
                request=request,
                by=request.user,
                thread=found,
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["file"],
            )
        except services.MessagingError as error:
            refuse(form, error)
        else:
            messages.success(request, "Reply sent. The patient is told a message is waiting.")
            return redirect("messaging:thread", thread_id=found.pk)
    return _thread_page(request, found, reply_form=form)


@staff_view(P)
@require_POST
def assign(request: StaffRequest, thread_id: int) -> HttpResponse:
    found = get_thread_for_staff(request, thread_id)
    form = AssignForm(request.POST, choices=assignable(request))
    if form.is_valid():
        chosen = form.cleaned_data["assignee"]
        assignee = User.objects.filter(pk=chosen).first() if chosen else None
        try:
            services.assign(request=request, by=request.user, thread=found, assignee=assignee)
        except services.MessagingError as error:
            refuse(form, error)
        else:
            messages.success(request, "Assignment saved.")
            return redirect("messaging:thread", thread_id=found.pk)
    return _thread_page(request, found, assign_form=form)


@staff_view(P)
@require_POST
def hide(request: StaffRequest, message_id: int) -> HttpResponse:
    message = get_message_for_staff(request, message_id)
    form = HideForm(request.POST)
    if form.is_valid():
        try:
            services.hide_from_patient(
                request=request,
                by=request.user,
                message=message,
                reason=form.cleaned_data["reason"],
            )
        except services.MessagingError as error:
            refuse(form, error)
        else:
            messages.success(request, "The message is hidden from the patient; it stays here.")
            return redirect("messaging:thread", thread_id=message.thread_id)
    found = get_thread_for_staff(request, message.thread_id)
    return _thread_page(request, found, hide_form=form)


def attachment_response(attachment: Attachment) -> HttpResponse:
    # Attachments are small (a clinic setting caps them): read whole, so no handle lingers.
    with attachment.file.open("rb") as handle:
        content = handle.read()
    response = HttpResponse(content, content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.original_name)
    return response


@staff_view(P)
@require_GET
def attachment(request: StaffRequest, attachment_id: int) -> HttpResponse:
    found = get_attachment_for_staff(request, attachment_id)
    services.record_attachment_read(request=request, user=request.user, attachment=found)
    return attachment_response(found)


@staff_view(P)
@require_GET
def chart_tab(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_messages(request, patient_id)
    threads = Thread.objects.for_clinic(request.clinic).filter(patient=patient)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="message threads")
    context = {
        "patient": patient,
        "threads": threads.select_related("assigned_to")[:INBOX_ROWS],
        "tabs": chart_tabs(request, patient, "messages"),
    }
    return render(request, "messaging/chart_tab.html", context)
