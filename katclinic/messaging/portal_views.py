"""The patient's own messages in the portal: their threads only, never a hidden message."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.messaging import services
from katclinic.messaging.access import get_own_attachment, get_own_thread
from katclinic.messaging.forms import ReplyForm, StartForm
from katclinic.messaging.models import Message, Thread
from katclinic.messaging.views import attachment_response, compose_context, refuse
from katclinic.patients.models import Patient
from katclinic.portal.views import patient_page

CRISIS_KEY = "messaging_crisis_thread"


def _user(request: HttpRequest) -> User:
    """The signed-in patient (`patient_page` has already refused anyone else)."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("a portal page needs a signed-in person")
    return user


def _sent(request: HttpRequest, thread: Thread, message: Message) -> HttpResponse:
    """After sending: crisis resources at once when the message had words of self-harm."""
    if message.crisis_words:
        request.session[CRISIS_KEY] = thread.pk
    else:
        messages.success(request, _("Message sent. Your care team will read it."))
    return redirect("messaging:mine_thread", patient_id=thread.patient_id, thread_id=thread.pk)


@require_GET
@patient_page
def mine(request: HttpRequest, patient: Patient) -> HttpResponse:
    threads = Thread.objects.filter(patient=patient).annotate_unread(_user(request))
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "portal messages"},
    )
    context = {"patient": patient, "threads": threads[:200]}
    return render(request, "messaging/mine.html", context)


@require_http_methods(["GET", "POST"])
@patient_page
def mine_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    extra = compose_context(patient.clinic_id)
    form = StartForm(request.POST or None, request.FILES or None, max_mb=extra["max_mb"])
    if request.method == "POST" and form.is_valid():
        try:
            thread, message = services.start_thread(
                request=request,
                by=_user(request),
                patient=patient,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["file"],
            )
        except services.MessagingError as error:
            refuse(form, error)
        else:
            return _sent(request, thread, message)
    context = {"patient": patient, "form": form, **extra}
    return render(request, "messaging/mine_new.html", context, status=400 if form.errors else 200)


def _thread_page(
    request: HttpRequest, patient: Patient, thread: Thread, form: ReplyForm | None = None
) -> HttpResponse:
    extra = compose_context(patient.clinic_id)
    refused = form is not None and bool(form.errors)
    services.record_read(
        request=request, user=_user(request), thread=thread, what="portal thread", mark=not refused
    )
    crisis_now = request.session.pop(CRISIS_KEY, None) == thread.pk
    context = {
        "patient": patient,
        "thread": thread,
        "thread_messages": thread.messages.filter(hidden_from_patient=False)
        .select_related("author")
        .prefetch_related("attachments"),
        "form": form or ReplyForm(max_mb=extra["max_mb"]),
        "crisis_now": crisis_now,
        **extra,
    }
    status = 400 if refused else 200
    return render(request, "messaging/mine_thread.html", context, status=status)


@require_GET
@patient_page
def mine_thread(request: HttpRequest, patient: Patient, thread_id: int) -> HttpResponse:
    return _thread_page(request, patient, get_own_thread(request, patient, thread_id))


@require_POST
@patient_page
def mine_reply(request: HttpRequest, patient: Patient, thread_id: int) -> HttpResponse:
    thread = get_own_thread(request, patient, thread_id)
    max_mb = compose_context(patient.clinic_id)["max_mb"]
    form = ReplyForm(request.POST, request.FILES, max_mb=max_mb)
    if form.is_valid():
        try:
            message = services.reply(
                request=request,
                by=_user(request),
                thread=thread,
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["file"],
            )
        except services.MessagingError as error:
            refuse(form, error)
        else:
            return _sent(request, thread, message)
    return _thread_page(request, patient, thread, form)


@require_GET
@patient_page
def mine_attachment(request: HttpRequest, patient: Patient, attachment_id: int) -> HttpResponse:
    found = get_own_attachment(request, patient, attachment_id)
    services.record_attachment_read(request=request, user=_user(request), attachment=found)
    return attachment_response(found)
