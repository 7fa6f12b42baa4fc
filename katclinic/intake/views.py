"""The clinic's public page with its consultation form, and the staff inbox of requests."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import staff_view
from katclinic.clinics.content import current_texts
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.intake import services
from katclinic.intake.access import get_request_for_user
from katclinic.intake.forms import MAX_PUBLIC_BODY_BYTES, ConsultationRequestForm, RequestStateForm
from katclinic.intake.models import ConsultationRequest, RequestEvent, RequestState
from katclinic.patients.forms import PatientForm

PAGE_SIZE = 50


def _public_page(
    request: HttpRequest,
    clinic: Clinic,
    form: ConsultationRequestForm,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    context = {"clinic": clinic, "form": form, "error": error, "texts": current_texts(clinic)}
    return render(request, "intake/public.html", context, status=status)


@require_http_methods(["GET", "POST"])
def public(request: HttpRequest, slug: str) -> HttpResponse:
    """What KAT is and the consultation request form; no sign-in needed."""
    clinic = get_object_or_404(Clinic, slug=slug)
    if (
        request.method == "POST"
        and int(request.META.get("CONTENT_LENGTH") or 0) > MAX_PUBLIC_BODY_BYTES
    ):
        error = "The form was too large to accept. Please shorten your message."
        return _public_page(request, clinic, ConsultationRequestForm(), status=413, error=error)
    form = ConsultationRequestForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return _public_page(request, clinic, form, status=400 if form.errors else 200)
    try:
        answers = form.phq9_answers()
        phq9 = services.score_phq9(answers) if answers is not None else None
        consultation = services.submit_request(
            clinic=clinic,
            data=form.request_data(),
            phq9=phq9,
            ip=audit.client_ip(request),
            request=request,
        )
    except services.RequestRefused as refused:
        field = refused.field if refused.field in form.fields else None
        form.add_error(field, refused.message)
        return _public_page(request, clinic, form, status=refused.status)
    url = reverse("intake:public_thanks", args=[clinic.slug])
    return redirect(f"{url}?urgent=1" if consultation.urgent else url)


def public_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    urgent = request.GET.get("urgent") == "1"
    return render(request, "intake/public_thanks.html", {"clinic": clinic, "urgent": urgent})


@staff_view(Perm.MANAGE_REQUESTS)
def inbox(request: StaffRequest) -> HttpResponse:
    """Requests of the active clinic: urgent first and highlighted, open before closed."""
    state = request.GET.get("state", "open")
    requests = ConsultationRequest.objects.for_clinic(request.clinic)
    if state == "open":
        requests = requests.exclude(state__in=[RequestState.DECLINED, RequestState.CONVERTED])
    elif state in RequestState.values:
        requests = requests.filter(state=state)
    page = Paginator(requests.inbox_order(), PAGE_SIZE).get_page(request.GET.get("page"))
    states = [("open", "Open"), *RequestState.choices, ("all", "All")]
    return render(request, "intake/inbox.html", {"page": page, "state": state, "states": states})


@staff_view(Perm.MANAGE_REQUESTS)
def request_detail(request: StaffRequest, request_id: int) -> HttpResponse:
    consultation = get_request_for_user(request, request_id)
    events = RequestEvent.objects.filter(request=consultation).select_related("by")
    audit.record(
        request=request, action=Action.VIEW, patient_id=consultation.patient_id, obj=consultation
    )
    return render(
        request,
        "intake/request_detail.html",
        {
            "consultation": consultation,
            "events": events,
            "form": RequestStateForm(),
        },
    )


@staff_view(Perm.MANAGE_REQUESTS)
@require_POST
def request_state(request: StaffRequest, request_id: int) -> HttpResponse:
    consultation = get_request_for_user(request, request_id)
    form = RequestStateForm(request.POST)
    if form.is_valid():
        try:
            services.change_request_state(
                consultation=consultation,
                to_state=form.cleaned_data["to_state"],
                note=form.cleaned_data["note"],
                by=request.user,
                request=request,
            )
        except services.InvalidTransition as exc:
            form.add_error("to_state", str(exc))
    if form.errors:
        return render(
            request,
            "intake/request_detail.html",
            {
                "consultation": consultation,
                "form": form,
                "events": RequestEvent.objects.filter(request=consultation).select_related("by"),
            },
            status=400,
        )
    messages.success(request, "Request updated.")
    return redirect("intake:request_detail", consultation.pk)


@staff_view(Perm.MANAGE_REQUESTS)
@require_http_methods(["GET", "POST"])
def request_convert(request: StaffRequest, request_id: int) -> HttpResponse:
    """Register the requester as a patient, starting from what they typed."""
    consultation = get_request_for_user(request, request_id)
    form = PatientForm(
        request.POST or None, initial=services.patient_data_from_request(consultation)
    )
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.convert_request(
                consultation=consultation, data=form.cleaned_data, by=request.user, request=request
            )
        except services.InvalidTransition as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Registered {patient.full_name} as {patient.mrn}.")
            return redirect("patients:chart", patient.pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "intake/request_convert.html",
        {"consultation": consultation, "form": form},
        status=status,
    )
