"""Insurance pages for the front desk and billing: coverage, eligibility checks and prior
authorizations with their documents."""

from __future__ import annotations

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.insurance import services, worklist
from katclinic.insurance.access import get_authorization, get_check, get_coverage, get_document
from katclinic.insurance.forms import (
    AuthorizationForm,
    CoverageForm,
    DocumentForm,
    EligibilityAnswerForm,
    EligibilityRequestForm,
    UseForm,
)
from katclinic.insurance.models import Claim, Coverage, EligibilityCheck, PriorAuthorization
from katclinic.lib.forms import refuse
from katclinic.patients.views import chart_tabs

P = Perm.MANAGE_COVERAGE


def _viewed(request: StaffRequest, obj: object, patient_id: int, section: str) -> None:
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=request.clinic.pk,
        patient_id=patient_id,
        obj=obj,
        detail={"section": section},
    )


@staff_view(P)
@require_GET
def patient(request: StaffRequest, patient_id: int) -> HttpResponse:
    found = get_patient_for_user(request, patient_id, P)
    _viewed(request, found, found.pk, "insurance")
    coverages = Coverage.objects.for_clinic(request.clinic).filter(patient=found)
    context = {
        "patient": found,
        "tabs": chart_tabs(request, found, "insurance"),
        "coverages": coverages.prefetch_related("checks"),
        "authorizations": PriorAuthorization.objects.for_clinic(request.clinic)
        .filter(patient=found)
        .with_used()
        .select_related("coverage"),
        "today": timezone.localdate(),
        "claims": Claim.objects.for_clinic(request.clinic).filter(patient=found)[:50]
        if has_perm(request, Perm.MANAGE_CLAIMS)
        else None,
    }
    return render(request, "insurance/patient.html", context)


@staff_view(P)
@require_http_methods(["GET", "POST"])
def coverage_add(request: StaffRequest, patient_id: int) -> HttpResponse:
    found = get_patient_for_edit(request, patient_id, P)
    form = CoverageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_coverage(
                request=request, by=request.user, patient=found, data=form.data_object()
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Coverage saved.")
            return redirect("insurance:patient", patient_id=found.pk)
    context = {"patient": found, "form": form, "title": "Add coverage"}
    return render(request, "insurance/form.html", context, status=400 if form.errors else 200)


@staff_view(P)
@require_http_methods(["GET", "POST"])
def coverage_edit(request: StaffRequest, coverage_id: int) -> HttpResponse:
    coverage = get_coverage(request, coverage_id)
    form = CoverageForm(request.POST or None, initial=CoverageForm.initial_from(coverage))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_coverage(
                request=request, by=request.user, coverage=coverage, data=form.data_object()
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Coverage updated.")
            return redirect("insurance:patient", patient_id=coverage.patient_id)
    context = {"patient": coverage.patient, "form": form, "title": f"Edit {coverage}"}
    return render(request, "insurance/form.html", context, status=400 if form.errors else 200)


@staff_view(P)
@require_POST
def eligibility_request(request: StaffRequest, coverage_id: int) -> HttpResponse:
    coverage = get_coverage(request, coverage_id)
    form = EligibilityRequestForm(request.POST)
    if form.is_valid():
        try:
            check = services.request_eligibility(
                request=request,
                by=request.user,
                coverage=coverage,
                service_date=form.cleaned_data["service_date"],
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Eligibility request written; send the file to the payer.")
            return redirect("insurance:eligibility", check_id=check.pk)
    context = {"patient": coverage.patient, "form": form, "title": "Check eligibility"}
    return render(request, "insurance/form.html", context, status=400)


def _check_page(
    request: StaffRequest, check: EligibilityCheck, form: Form, status: int = 200
) -> HttpResponse:
    context = {"check": check, "patient": check.patient, "form": form}
    return render(request, "insurance/eligibility.html", context, status=status)


@staff_view(P)
@require_GET
def eligibility(request: StaffRequest, check_id: int) -> HttpResponse:
    check = get_check(request, check_id)
    _viewed(request, check, check.patient_id, "eligibility")
    return _check_page(request, check, EligibilityAnswerForm())


@staff_view(P)
@require_GET
def eligibility_file(request: StaffRequest, check_id: int) -> HttpResponse:
    check = get_check(request, check_id)
    return x12_download(request, check, check.request_file, f"{check.trace_number}.270", "270")


def x12_download(
    request: StaffRequest, record: Claim | EligibilityCheck, text: str, filename: str, kind: str
) -> HttpResponse:
    """An X12 file to save, recorded as an export from the patient's chart."""
    audit.record(
        request=request,
        action=Action.EXPORT,
        clinic_id=record.clinic_id,
        patient_id=record.patient_id,
        obj=record,
        detail={"file": kind},
    )
    response = HttpResponse(text, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_view(P)
@require_POST
def eligibility_answer(request: StaffRequest, check_id: int) -> HttpResponse:
    check = get_check(request, check_id)
    form = EligibilityAnswerForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.record_eligibility_answer(
                request=request, by=request.user, check=check, text=form.cleaned_data["answer"]
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "The payer's answer is saved with the coverage.")
            return redirect("insurance:eligibility", check_id=check.pk)
    return _check_page(request, check, form, status=400)


@staff_view(P)
@require_http_methods(["GET", "POST"])
def authorization_add(request: StaffRequest, coverage_id: int) -> HttpResponse:
    coverage = get_coverage(request, coverage_id)
    form = AuthorizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auth = services.add_authorization(
                request=request, by=request.user, coverage=coverage, data=form.data_object()
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Prior authorization saved.")
            return redirect("insurance:authorization", auth_id=auth.pk)
    context = {
        "patient": coverage.patient,
        "form": form,
        "title": f"Prior authorization with {coverage.payer_name}",
    }
    return render(request, "insurance/form.html", context, status=400 if form.errors else 200)


def _auth_page(
    request: StaffRequest,
    auth: PriorAuthorization,
    *,
    use_form: Form | None = None,
    document_form: Form | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "auth": auth,
        "patient": auth.patient,
        "rule": auth.as_rule(),
        "uses": auth.uses.select_related("recorded_by"),
        "documents": auth.documents.select_related("uploaded_by"),
        "use_form": use_form or UseForm(),
        "document_form": document_form or DocumentForm(),
    }
    return render(request, "insurance/authorization.html", context, status=status)


@staff_view(P)
@require_GET
def authorization(request: StaffRequest, auth_id: int) -> HttpResponse:
    auth = get_authorization(request, auth_id)
    _viewed(request, auth, auth.patient_id, "prior authorization")
    return _auth_page(request, auth)


@staff_view(P)
@require_http_methods(["GET", "POST"])
def authorization_edit(request: StaffRequest, auth_id: int) -> HttpResponse:
    auth = get_authorization(request, auth_id)
    form = AuthorizationForm(request.POST or None, initial=AuthorizationForm.initial_from(auth))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_authorization(
                request=request, by=request.user, auth=auth, data=form.data_object()
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Prior authorization updated.")
            return redirect("insurance:authorization", auth_id=auth.pk)
    context = {"patient": auth.patient, "form": form, "title": f"Edit {auth}"}
    return render(request, "insurance/form.html", context, status=400 if form.errors else 200)


@staff_view(P)
@require_POST
def authorization_use(request: StaffRequest, auth_id: int) -> HttpResponse:
    auth = get_authorization(request, auth_id)
    form = UseForm(request.POST)
    if form.is_valid():
        try:
            services.record_use(request=request, by=request.user, auth=auth, **form.cleaned_data)
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Units recorded.")
            return redirect("insurance:authorization", auth_id=auth.pk)
    return _auth_page(request, auth, use_form=form, status=400)


@staff_view(P)
@require_POST
def document_add(request: StaffRequest, auth_id: int) -> HttpResponse:
    auth = get_authorization(request, auth_id)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_document(
                request=request,
                by=request.user,
                auth=auth,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except services.InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(request, "Document added.")
            return redirect("insurance:authorization", auth_id=auth.pk)
    return _auth_page(request, auth, document_form=form, status=400)


@staff_view(P)
@require_GET
def document(request: StaffRequest, document_id: int) -> HttpResponse:
    found = get_document(request, document_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=found.clinic_id,
        patient_id=found.authorization.patient_id,
        obj=found,
        detail={"kind": found.kind},
    )
    # Documents are at most 10 MB: read whole, so no file handle outlives the request.
    with found.file.open("rb") as handle:
        content = handle.read()
    response = HttpResponse(content, content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.original_name)
    return response


@staff_view(P)
@require_GET
def authorizations(request: StaffRequest) -> HttpResponse:
    """Every prior authorization of the clinic, with the ones that need attention first."""
    today = timezone.localdate()
    alerts = worklist.authorization_alerts(request.clinic, today)
    rows = list(
        PriorAuthorization.objects.for_clinic(request.clinic)
        .with_used()
        .select_related("patient", "coverage")[:200]
    )
    audit.record_list(request=request, patient_ids=[a.patient_id for a in rows])
    return render(
        request,
        "insurance/authorizations.html",
        {"alerts": alerts, "authorizations": rows, "today": today},
    )
