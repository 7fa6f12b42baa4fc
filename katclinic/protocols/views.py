from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.clinics.access import (
    get_in_clinic,
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import optional_id
from katclinic.patients.views import chart_tabs
from katclinic.protocols import readiness, services
from katclinic.protocols.diff import describe_changes, grouped
from katclinic.protocols.forms import AmendForm, DraftForm, PlanForm, ProtocolForm
from katclinic.protocols.models import Plan, PlanVersion, ProtocolStatus, ProtocolVersion
from katclinic.protocols.presentation import sourced_rows
from katclinic.protocols.schema import ProtocolError


def get_protocol_for_user(request: StaffRequest, version_id: int) -> ProtocolVersion:
    return get_in_clinic(request, ProtocolVersion.objects, version_id, what="protocol")


def get_plan_for_edit(request: StaffRequest, plan_id: int) -> Plan:
    related = Plan.objects.select_related("patient", "protocol_version")
    return get_in_clinic(request, related, plan_id, what="plan")


def get_version_for_edit(request: StaffRequest, version_id: int) -> PlanVersion:
    related = PlanVersion.objects.select_related("plan__patient", "plan__protocol_version")
    return get_in_clinic(request, related, version_id, what="plan version")


@staff_view(Perm.VIEW_PATIENT_LIST)
def library(request: StaffRequest) -> HttpResponse:
    versions = ProtocolVersion.objects.for_clinic(request.clinic).select_related("created_by")
    return render(
        request,
        "protocols/library.html",
        {"versions": versions, "can_manage": has_perm(request, Perm.MANAGE_CLINIC)},
    )


@staff_view(Perm.VIEW_PATIENT_LIST)
def detail(request: StaffRequest, version_id: int) -> HttpResponse:
    row = get_protocol_for_user(request, version_id)
    protocol = row.protocol
    previous = (
        ProtocolVersion.objects.filter(clinic=row.clinic, key=row.key, version__lt=row.version)
        .order_by("-version")
        .first()
    )
    context = {
        "previous": previous,
        "changes": grouped(describe_changes(previous.protocol, protocol)) if previous else [],
        "row": row,
        "p": protocol,
        "rows": sourced_rows(protocol),
        "unverified": protocol.unverified_thresholds(),
        "can_manage": has_perm(request, Perm.MANAGE_CLINIC),
        "in_use": row.plans.exists(),
        "statuses": ProtocolStatus,
    }
    return render(request, "protocols/detail.html", context)


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def new_version(request: StaffRequest) -> HttpResponse:
    initial: dict[str, Any] = {}
    base = optional_id(request.GET.get("from"), "from")
    if base is not None:
        initial["text"] = json.dumps(get_protocol_for_user(request, base).data, indent=2)
    form = ProtocolForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = services.create_protocol_version(
                clinic=request.clinic,
                text=data["text"],
                note=data["note"],
                activate=data["activate"],
                by=request.user,
                request=request,
            )
        except ProtocolError as exc:
            field = "upload" if data.get("upload") else "text"
            form.add_error(field, [f"{problem}" for problem in exc.problems])
        else:
            messages.success(
                request, f"Saved {row.key} version {row.version} ({row.get_status_display()})."
            )
            return redirect("protocols:detail", row.pk)
    return _form_page(request, form, title="New protocol version")


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def set_status(request: StaffRequest, version_id: int) -> HttpResponse:
    row = get_protocol_for_user(request, version_id)
    status = request.POST.get("status", "")
    if status not in (ProtocolStatus.ACTIVE, ProtocolStatus.RETIRED):
        messages.error(request, "Choose active or retired.")
        return redirect("protocols:detail", row.pk)
    services.set_protocol_status(version=row, status=status, by=request.user, request=request)
    messages.success(
        request, f"{row.key} version {row.version} is now {row.get_status_display().lower()}."
    )
    return redirect("protocols:detail", row.pk)


@staff_view(Perm.VIEW_CLINICAL)
def patient_plans(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="plan")
    plans = list(Plan.objects.filter(patient=patient).select_related("protocol_version"))
    rows = [_plan_context(plan) for plan in plans]
    context = {
        "patient": patient,
        "tabs": chart_tabs(request, patient, "plan"),
        "plans": rows,
        "weight": services.latest_weight(patient),
        "can_sign": has_perm(request, Perm.SIGN_PLAN),
        "readiness": readiness.overview(patient, _routes(request)),
    }
    return render(request, "protocols/patient_plans.html", context)


def _routes(request: StaffRequest) -> list[str]:
    """The routes of the clinic's active protocols, for the readiness badges."""
    active = ProtocolVersion.objects.for_clinic(request.clinic).active()
    return sorted(set(active.values_list("route", flat=True)))


def _plan_context(plan: Plan) -> dict[str, Any]:
    versions = list(
        plan.versions.select_related("created_by", "signed_by").prefetch_related("doses")
    )
    current = next((v for v in versions if v.is_signed), None)
    booked = plan.appointments.exclude(planned_dose=None).select_related("chair__room")
    appointments = {a.planned_dose_id: a for a in booked}
    doses = [(d, appointments.get(d.pk)) for d in current.doses.all()] if current else []
    draft = next((v for v in versions if not v.is_signed), None)
    return {
        "plan": plan,
        "versions": versions,
        "current": current,
        "draft": draft,
        "doses": doses,
        "draft_weight_stale": draft is not None and services.weight_is_stale_now(draft),
        "exposure": services.exposure(plan),
    }


@staff_view(Perm.SIGN_PLAN)
@require_http_methods(["GET", "POST"])
def create_plan(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.SIGN_PLAN)
    form = PlanForm(
        request.POST or None, clinic=request.clinic, initial={"start_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = services.create_plan(
                patient=patient,
                protocol_version=data["protocol_version"],
                phase=data["phase"],
                start_on=data["start_on"],
                requested_mg=data["dose_mg"],
                soft_reason=data["soft_limit_reason"],
                eligibility_reason=data["eligibility_reason"],
                by=request.user,
                request=request,
            )
        except services.PlanError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Draft plan created: {version.dose_mg} mg. Review and sign it."
            )
            return redirect("protocols:patient_plans", patient.pk)
    return _form_page(
        request,
        form,
        title=f"New plan for {patient.full_name}",
        patient=patient,
        readiness=readiness.overview(patient, _routes(request)),
        weight=services.latest_weight(patient),
    )


@staff_view(Perm.SIGN_PLAN)
@require_http_methods(["GET", "POST"])
def edit_draft(request: StaffRequest, version_id: int) -> HttpResponse:
    version = get_version_for_edit(request, version_id)
    initial = {
        "phase": version.phase,
        "start_on": version.start_on,
        "dose_mg": version.dose_mg,
        "reason": version.reason,
        "soft_limit_reason": version.soft_limit_reason,
    }
    form = DraftForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.edit_draft(
                version=version,
                phase=data["phase"],
                start_on=data["start_on"],
                requested_mg=data["dose_mg"],
                soft_reason=data["soft_limit_reason"],
                reason=data["reason"],
                by=request.user,
                request=request,
            )
        except services.PlanError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Draft saved.")
            return redirect("protocols:patient_plans", version.plan.patient_id)
    return _form_page(
        request, form, title=f"Edit draft version {version.number}", patient=version.plan.patient
    )


@staff_view(Perm.SIGN_PLAN)
@require_POST
def sign(request: StaffRequest, version_id: int) -> HttpResponse:
    version = get_version_for_edit(request, version_id)
    try:
        signed = services.sign_plan(
            version=version,
            prescriber=request.user,
            acknowledge_stale_weight=request.POST.get("acknowledge_stale_weight") == "on",
            request=request,
        )
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Signed version {signed.number} (SHA-256 {signed.content_hash[:12]}…)."
        )
    return redirect("protocols:patient_plans", version.plan.patient_id)


@staff_view(Perm.SIGN_PLAN)
@require_http_methods(["GET", "POST"])
def amend(request: StaffRequest, plan_id: int) -> HttpResponse:
    plan = get_plan_for_edit(request, plan_id)
    form = AmendForm(request.POST or None, initial={"start_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.amend_plan(
                plan=plan,
                kind=data["kind"],
                reason=data["reason"],
                requested_mg=data["dose_mg"],
                phase=data["phase"] or None,
                start_on=data["start_on"],
                soft_reason=data["soft_limit_reason"],
                by=request.user,
                request=request,
            )
        except services.PlanError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Amendment drafted. Review and sign it.")
            return redirect("protocols:patient_plans", plan.patient_id)
    return _form_page(request, form, title=f"Amend plan {plan.pk}", patient=plan.patient)


def _form_page(request: StaffRequest, form: Form, *, title: str, **extra: Any) -> HttpResponse:
    status = 400 if form.errors else 200
    return render(
        request, "protocols/form.html", {"form": form, "title": title, **extra}, status=status
    )
