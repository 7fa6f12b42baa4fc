"""Consent documents, signatures on a clinic device or in the portal, withdrawals."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_edit, has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.intake import services
from katclinic.intake.access import get_document_for_clinic, get_own_patient, get_signature_for_edit
from katclinic.intake.forms import ConsentDocumentForm, SignConsentForm, WithdrawConsentForm
from katclinic.intake.models import ConsentDocument, ConsentSignature, SignatureChannel
from katclinic.patients.models import Patient


@staff_view(Perm.MANAGE_CONSENT)
def consent_list(request: StaffRequest) -> HttpResponse:
    """Patients in treatment whose program consent is missing, outdated or withdrawn."""
    program, gaps = services.consent_gaps(request.clinic)
    return render(request, "intake/consent_list.html", {"program": program, "gaps": gaps})


def _publish(request: StaffRequest, data: dict[str, Any], rule: services.Reconsent) -> HttpResponse:
    document = services.issue_consent_document(
        clinic=request.clinic,
        by=request.user,
        request=request,
        reconsent_count=rule.count,
        **data,
    )
    messages.success(
        request,
        f"Published {document}. {rule.count} patient(s) must sign it before their next dose.",
    )
    return redirect("intake:documents")


def _preview(
    request: StaffRequest,
    form: ConsentDocumentForm,
    data: dict[str, Any],
    rule: services.Reconsent,
) -> HttpResponse:
    """The new version as the patient will see it, with who must sign it again; not stored."""
    preview = ConsentDocument(
        clinic=request.clinic,
        scope=data["scope"],
        route=data["route"] if data["scope"] == "route" else "",
        title=data["title"].strip(),
        body=data["body"].replace("\r\n", "\n"),
        version=rule.version,
        effective_on=data["effective_on"],
    )
    return render(
        request,
        "intake/document_preview.html",
        {"form": form, "document": preview, "rule": rule},
    )


@staff_view(Perm.PUBLISH_CONSENT)
@require_http_methods(["GET", "POST"])
def documents(request: StaffRequest) -> HttpResponse:
    """Every version of every consent document; a new version is written here, previewed as
    the patient will see it with the patients who must sign again, then published."""
    form = ConsentDocumentForm(request.POST or None)
    step = request.POST.get("step", "")
    if request.method == "POST" and form.is_valid() and step != "edit":
        data = form.cleaned_data
        rule = services.reconsent_needed(
            clinic=request.clinic, scope=data["scope"], route=data["route"] or ""
        )
        if step == "publish":
            return _publish(request, data, rule)
        return _preview(request, form, data, rule)
    listed = ConsentDocument.objects.for_clinic(request.clinic).select_related("created_by")
    status = 400 if form.errors else 200
    return render(
        request, "intake/documents.html", {"documents": listed, "form": form}, status=status
    )


def _sign_page(
    request: HttpRequest,
    patient: Patient,
    document: ConsentDocument,
    form: SignConsentForm,
    *,
    portal: bool,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "intake/consent_sign.html",
        {"patient": patient, "document": document, "form": form, "portal": portal},
        status=status,
    )


def _take_signature(
    request: HttpRequest, patient: Patient, document: ConsentDocument, *, portal: bool
) -> HttpResponse:
    form = SignConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = SignatureChannel.PORTAL if portal else SignatureChannel.CLINIC_DEVICE
        try:
            services.sign_consent(
                patient=patient,
                document=document,
                typed_name=form.cleaned_data["typed_name"],
                channel=channel,
                by=request.user,  # type: ignore[arg-type]
                witness=None if portal else request.user,  # type: ignore[arg-type]
                request=request,
            )
        except services.ConsentRefused as exc:
            form.add_error("typed_name", str(exc))
        else:
            messages.success(request, f"{document.title} signed.")
            return (
                redirect("intake:my_consents", patient.pk)
                if portal
                # Front desk witnesses signatures but does not read the clinical tab.
                else redirect("intake:chart_tab", patient.pk)
                if has_perm(request, Perm.VIEW_CLINICAL)
                else redirect("patients:chart", patient.pk)
            )
    if request.method == "GET":
        audit.record(
            request=request,
            action=Action.VIEW,
            patient_id=patient.pk,
            obj=document,
            detail={"for": "signing", "portal": portal},
        )
    return _sign_page(
        request, patient, document, form, portal=portal, status=400 if form.errors else 200
    )


@staff_view(Perm.MANAGE_CONSENT)
@require_http_methods(["GET", "POST"])
def sign_on_device(request: StaffRequest, patient_id: int, document_id: int) -> HttpResponse:
    """The patient signs on a clinic device; the signed-in staff member is the witness."""
    patient = get_patient_for_edit(request, patient_id, Perm.MANAGE_CONSENT)
    document = get_document_for_clinic(request, document_id, patient.clinic_id)
    return _take_signature(request, patient, document, portal=False)


@staff_view(Perm.MANAGE_CONSENT)
@require_http_methods(["GET", "POST"])
def withdraw(request: StaffRequest, signature_id: int) -> HttpResponse:
    signature = get_signature_for_edit(request, signature_id)
    form = WithdrawConsentForm(request.POST or None)
    if request.method == "GET":
        audit.record(
            request=request, action=Action.VIEW, patient_id=signature.patient_id, obj=signature
        )
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_consent(
                signature=signature,
                reason=form.cleaned_data["reason"],
                by=request.user,
                request=request,
            )
        except services.ConsentRefused as exc:
            form.add_error("reason", str(exc))
        else:
            messages.success(
                request, "Withdrawal recorded. No further doses until consent is given again."
            )
            return redirect("intake:consents")
    status = 400 if form.errors else 200
    return render(
        request, "intake/withdraw.html", {"signature": signature, "form": form}, status=status
    )


def _patient_only(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    return None


@require_http_methods(["GET"])
def my_consents(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's own page: what is signed, and what still needs their signature."""
    if (login := _patient_only(request)) is not None:
        return login
    patient = get_own_patient(request, patient_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "my consents"},
    )
    signatures = ConsentSignature.objects.filter(patient=patient).select_related(
        "document", "withdrawal"
    )
    signed = {s.document_id for s in signatures if not hasattr(s, "withdrawal")}
    documents = [
        d for d in services.current_documents(patient.clinic).values() if d.pk not in signed
    ]
    return render(
        request,
        "intake/my_consents.html",
        {
            "patient": patient,
            "to_sign": documents,
            "signatures": signatures,
            "status": services.consent_status(patient),
        },
    )


@require_http_methods(["GET", "POST"])
def my_sign(request: HttpRequest, patient_id: int, document_id: int) -> HttpResponse:
    if (login := _patient_only(request)) is not None:
        return login
    patient = get_own_patient(request, patient_id)
    document = get_document_for_clinic(request, document_id, patient.clinic_id)
    return _take_signature(request, patient, document, portal=True)
