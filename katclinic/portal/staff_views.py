"""Staff pages of the portal: invite a patient, read shared journal entries, handle requests."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_edit, get_patient_for_user, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.patients.views import chart_tabs
from katclinic.portal import services
from katclinic.portal.access import get_appointment_request_for_staff
from katclinic.portal.forms import InviteForm
from katclinic.portal.models import AppointmentRequest, JournalEntry


@staff_view(Perm.EDIT_DEMOGRAPHICS)
@require_http_methods(["GET", "POST"])
def invite(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id)
    if patient.user_id is not None and request.method == "POST":
        try:
            services.resend_invitation(patient=patient, by=request.user, request=request)
            messages.success(request, "A new set-password link is on its way to the patient.")
        except services.PortalError as error:
            messages.error(request, str(error))
        return redirect("portal:invite", patient_id=patient.pk)
    form = InviteForm(request.POST or None, initial={"email": patient.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_patient(
                patient=patient, email=form.cleaned_data["email"], by=request.user, request=request
            )
        except services.PortalError as error:
            form.add_error("email", str(error))
        else:
            messages.success(request, f"{patient.full_name} is invited to the patient portal.")
            return redirect("portal:invite", patient_id=patient.pk)
    context = {
        "patient": patient,
        "form": form,
        "has_account": patient.user_id is not None,
        "tabs": chart_tabs(request, patient, "portal"),
    }
    return render(request, "portal/invite.html", context, status=400 if form.errors else 200)


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def journal_tab(request: StaffRequest, patient_id: int) -> HttpResponse:
    """Only entries the patient chose to share; a private entry never reaches this query."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    entries = JournalEntry.objects.filter(clinic=request.clinic, patient=patient).shared()[:200]
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "shared journal"},
    )
    context = {
        "patient": patient,
        "entries": entries,
        "tabs": chart_tabs(request, patient, "journal"),
    }
    return render(request, "portal/journal_tab.html", context)


@staff_view(Perm.SCHEDULE)
@require_GET
def requests(request: StaffRequest) -> HttpResponse:
    rows = (
        AppointmentRequest.objects.for_clinic(request.clinic)
        .open()
        .select_related("patient")
        .order_by("created_at")[:200]
    )
    return render(request, "portal/requests.html", {"rows": rows})


@staff_view(Perm.SCHEDULE)
@require_POST
def request_done(request: StaffRequest, request_id: int) -> HttpResponse:
    found = get_appointment_request_for_staff(request, request_id)
    if services.handle_appointment_request(
        appointment_request=found, by=request.user, request=request
    ):
        messages.success(
            request, f"Marked handled: {found.get_kind_display()} for {found.patient.full_name}."
        )
    else:
        messages.info(request, "Someone already handled this request.")
    return redirect("portal:requests")
