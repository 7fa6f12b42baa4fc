"""Outcome pages: a patient's progress, the clinic dashboard, and the exports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import optional_id
from katclinic.outcomes import dashboard, exports, tables
from katclinic.outcomes.forms import ResearchExportForm
from katclinic.outcomes.progress import progress_for
from katclinic.outcomes.services import rollup_as_of
from katclinic.patients.views import chart_tabs


def _course_id(request: StaffRequest) -> int | None:
    return optional_id(request.GET.get("course"), "course")


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def progress(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    data = progress_for(patient, _course_id(request))
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "progress", "course": data.course.pk if data.course else None},
    )
    return render(
        request,
        "outcomes/progress.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "progress"),
            "progress": data,
            "can_export": has_perm(request, Perm.EXPORT_DATA),
        },
    )


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_view(Perm.EXPORT_DATA)
@require_GET
def progress_pdf(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.EXPORT_DATA)
    content = exports.progress_report(
        patient=patient, course_id=_course_id(request), request=request
    )
    return _pdf(content, f"progress-{patient.mrn}.pdf")


@staff_view(Perm.EXPORT_DATA)
@require_GET
def record_pdf(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.EXPORT_DATA)
    content = exports.full_record(patient=patient, request=request)
    return _pdf(content, f"record-{patient.mrn}.pdf")


def _scope(request: StaffRequest) -> tuple[dashboard.Scope, list[Any]]:
    clinics = dashboard.org_clinics(request.clinic, getattr(request, "clinic_roles", {}))
    if request.GET.get("scope") == "org" and len(clinics) > 1:
        label = f"{request.clinic.organization.name} (all {len(clinics)} clinics)"
        return dashboard.Scope([c.pk for c in clinics], label, True), clinics
    return dashboard.Scope([request.clinic.pk], request.clinic.name, False), clinics


@staff_view(Perm.VIEW_OUTCOMES)
@require_GET
def dashboard_page(request: StaffRequest) -> HttpResponse:
    scope, clinics = _scope(request)
    context = dashboard.build_cached(scope, timezone.localdate()) | {
        "as_of": rollup_as_of(),
        "org_available": len(clinics) > 1,
        "can_export": has_perm(request, Perm.EXPORT_DATA),
        "tables": tables.TABLES,
        "query": "?scope=org" if scope.is_org else "",
    }
    return render(request, "outcomes/dashboard.html", context)


@staff_view(Perm.EXPORT_DATA)
@require_GET
def dashboard_csv(request: StaffRequest, table: str) -> HttpResponse:
    if table not in tables.TABLES:
        raise Http404("No such table")
    scope, _ = _scope(request)
    make: Callable[[dict[str, Any]], tuple[Sequence[str], list[Sequence[object]]]] = tables.TABLES[
        table
    ][1]
    header, rows = make(dashboard.build(scope, timezone.localdate()))
    content = exports.dashboard_csv(
        scope=scope, table=table, header=header, rows=rows, request=request
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="outcomes-{table}.csv"'
    return response


@staff_view(Perm.EXPORT_DATA)
@require_http_methods(["GET", "POST"])
def research_export(request: StaffRequest) -> HttpResponse:
    form = ResearchExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        content = exports.research_export(
            clinic=request.clinic,
            request=request,
            include_free_text=form.cleaned_data["include_free_text"],
        )
        response = HttpResponse(content, content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="research-export.jsonl"'
        return response
    consented = exports.research_patients(request.clinic).count()
    status = 400 if request.method == "POST" else 200
    return render(
        request, "outcomes/research.html", {"form": form, "consented": consented}, status=status
    )
