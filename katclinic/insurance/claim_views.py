"""Claim pages for billing staff and clinic admins: claims to build, a claim with its lines,
checks, history and payments, sending, acknowledgements and remittance import."""

from __future__ import annotations

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.billing.models import Charge
from katclinic.clinics.access import deny, get_in_clinic, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.insurance import claims
from katclinic.insurance.forms import ClaimStatusForm, RemittanceForm
from katclinic.insurance.models import Claim, ClaimStatus, Remittance
from katclinic.insurance.services import InsuranceError
from katclinic.insurance.views import x12_download
from katclinic.lib.forms import refuse

P = Perm.MANAGE_CLAIMS


def _claim(request: StaffRequest, pk: int) -> Claim:
    related = Claim.objects.select_related("patient", "coverage")
    return get_in_clinic(request, related, pk, what="claim", perm=P)


@staff_view(P)
@require_GET
def claim_list(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    rows = Claim.objects.for_clinic(request.clinic).select_related("patient", "coverage")
    if status in ClaimStatus.values:
        rows = rows.filter(status=status)
    shown = list(rows[:200])
    to_build = claims.claimable_charges(request.clinic)
    unmatched = claims.unmatched_payments(request.clinic)
    audit.record_list(
        request=request,
        patient_ids=[c.patient_id for c in shown] + [c.patient_id for c in to_build],
    )
    context = {
        "claims": shown,
        "to_build": to_build,
        "unmatched": unmatched,
        "statuses": ClaimStatus.choices,
        "status": status,
    }
    return render(request, "insurance/claims.html", context)


@staff_view(P)
@require_POST
def claim_build(request: StaffRequest, charge_id: int) -> HttpResponse:
    charge = get_in_clinic(request, Charge.objects, charge_id, what="charge")
    try:
        claim = claims.build_claim(charge=charge, by=request.user, request=request)
    except InsuranceError as error:
        messages.error(request, str(error))
        return redirect("insurance:claims")
    return redirect("insurance:claim", claim_id=claim.pk)


def _page(
    request: StaffRequest, claim: Claim, form: Form | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "claim": claim,
        "patient": claim.patient,
        "lines": claim.lines.prefetch_related("payments__adjustments"),
        "events": claim.events.select_related("by"),
        "payments": claim.payments.select_related("remittance").prefetch_related("adjustments"),
        "form": form or ClaimStatusForm(),
    }
    return render(request, "insurance/claim.html", context, status=status)


@staff_view(P)
@require_GET
def claim_detail(request: StaffRequest, claim_id: int) -> HttpResponse:
    claim = _claim(request, claim_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=claim.clinic_id,
        patient_id=claim.patient_id,
        obj=claim,
    )
    return _page(request, claim)


@staff_view(P)
@require_POST
def claim_check(request: StaffRequest, claim_id: int) -> HttpResponse:
    claim = _claim(request, claim_id)
    try:
        claims.recheck_claim(claim=claim, by=request.user, request=request)
    except InsuranceError as error:
        messages.error(request, str(error))
    return redirect("insurance:claim", claim_id=claim.pk)


@staff_view(P)
@require_POST
def claim_send(request: StaffRequest, claim_id: int) -> HttpResponse:
    claim = _claim(request, claim_id)
    try:
        claims.send_claim(claim=claim, by=request.user, request=request)
    except InsuranceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Claim sent to the clearinghouse.")
    return redirect("insurance:claim", claim_id=claim.pk)


@staff_view(P)
@require_POST
def claim_status(request: StaffRequest, claim_id: int) -> HttpResponse:
    claim = _claim(request, claim_id)
    form = ClaimStatusForm(request.POST)
    if form.is_valid():
        try:
            claims.mark_claim(
                claim=claim,
                by=request.user,
                request=request,
                to=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
            )
        except InsuranceError as error:
            refuse(form, error)
        else:
            return redirect("insurance:claim", claim_id=claim.pk)
    return _page(request, claim, form, status=400)


@staff_view(P)
@require_GET
def claim_file(request: StaffRequest, claim_id: int) -> HttpResponse:
    claim = _claim(request, claim_id)
    if not claim.file_text:
        deny(request, reason="the claim has not been sent", not_found=True)
    return x12_download(request, claim, claim.file_text, f"{claim.control_number}.837", "837P")


@staff_view(P)
@require_http_methods(["GET", "POST"])
def remittance_import(request: StaffRequest) -> HttpResponse:
    form = RemittanceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            posting = claims.import_remittance(
                clinic=request.clinic,
                text=form.cleaned_data["file"],
                by=request.user,
                request=request,
            )
        except InsuranceError as error:
            refuse(form, error)
        else:
            messages.success(
                request,
                f"Posted to {posting.matched} claim{'s' if posting.matched != 1 else ''}; "
                f"{posting.unmatched} payment{'s' if posting.unmatched != 1 else ''} left for review.",
            )
            return redirect("insurance:remittance", remittance_id=posting.remittance.pk)
    return render(
        request,
        "insurance/remittance_import.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@staff_view(P)
@require_GET
def remittance(request: StaffRequest, remittance_id: int) -> HttpResponse:
    found = get_in_clinic(request, Remittance.objects, remittance_id, what="remittance")
    rows = list(
        found.claims.select_related("claim").prefetch_related("lines__adjustments", "adjustments")
    )
    audit.record_list(request=request, patient_ids=[r.claim.patient_id for r in rows if r.claim])
    return render(request, "insurance/remittance.html", {"remittance": found, "rows": rows})
