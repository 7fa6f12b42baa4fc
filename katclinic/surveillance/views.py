"""The prescriber review page: exposure, screens, side effects and outcome on one screen,
with the review tasks to close and the decision to record."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.lib.forms import refuse
from katclinic.lib.parse import optional_id
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs
from katclinic.surveillance import services
from katclinic.surveillance.forms import CloseTaskForm, DecisionForm
from katclinic.surveillance.models import ExposureWindow, ReviewTask
from katclinic.surveillance.review import review_for
from katclinic.surveillance.sources import dose_events


def _course_id(request: StaffRequest) -> int | None:
    return optional_id(request.GET.get("course"), "course")


def _page(
    request: StaffRequest, patient: Patient, *, status: int = 200, **forms: Any
) -> HttpResponse:
    events = dose_events(patient, until=timezone.now())
    limits = services.thresholds(patient)
    services.check_exposure(patient=patient, events=events, request=request, limits=limits)
    data = review_for(patient, _course_id(request), events=events, limits=limits)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="surveillance")
    return render(
        request,
        "surveillance/review.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "surveillance"),
            "r": data,
            "can_review": has_perm(request, Perm.REVIEW_SURVEILLANCE),
            "decision_form": forms.get("decision_form") or DecisionForm(),
            "close_form": forms.get("close_form"),
            "close_task": forms.get("close_task"),
            "limit_30": data.thresholds[ExposureWindow.DAYS_30],
            "limit_12": data.thresholds[ExposureWindow.MONTHS_12],
        },
        status=status,
    )


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def review(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    return _page(request, patient)


@staff_view(Perm.REVIEW_SURVEILLANCE)
@require_POST
def close_task(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.REVIEW_SURVEILLANCE)
    form = CloseTaskForm(request.POST)
    task = None
    if form.is_valid():
        task = ReviewTask.objects.filter(patient=patient, pk=form.cleaned_data["task"]).first()
        if task is None:
            form.add_error("task", "No such review task for this patient.")
    if task is not None and form.is_valid():
        try:
            services.close_review_task(
                task=task, outcome=form.cleaned_data["outcome"], user=request.user, request=request
            )
        except services.ReviewError as error:
            refuse(form, error)
        else:
            return redirect("surveillance:review", patient.pk)
    return _page(request, patient, status=400, close_form=form, close_task=task)


@staff_view(Perm.REVIEW_SURVEILLANCE)
@require_POST
def decide(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id, Perm.REVIEW_SURVEILLANCE)
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        course = patient.courses.filter(ended_on__isnull=True).first()
        try:
            services.record_decision(
                patient=patient,
                decision=data["decision"],
                reason=data["reason"],
                by=request.user,
                request=request,
                course=course,
                close_open_tasks=data["close_open_tasks"],
            )
        except services.ReviewError as error:
            refuse(form, error)
        else:
            return redirect("surveillance:review", patient.pk)
    return _page(request, patient, status=400, decision_form=form)


@staff_view(Perm.VIEW_CLINICAL)
@require_GET
def tasks(request: StaffRequest) -> HttpResponse:
    """The clinic's open review tasks, oldest first."""
    rows = (
        ReviewTask.objects.for_clinic(request.clinic)
        .open()
        .select_related("patient")
        .order_by("raised_at", "pk")[:200]
    )
    audit.record(request=request, action=Action.VIEW, detail={"section": "review tasks"})
    return render(request, "surveillance/tasks.html", {"tasks": rows})
