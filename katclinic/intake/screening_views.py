"""The chart's Intake tab and the suitability screening pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

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
from katclinic.intake import screening as screenings
from katclinic.intake.access import get_screening_for_user
from katclinic.intake.forms import FACT_LABELS, DecisionForm, ScreeningForm, TrialFormSet
from katclinic.intake.models import ConsentSignature, EligibilityDecision, Screening, Suggestion
from katclinic.intake.services import consent_status, current_documents
from katclinic.patients.models import Patient
from katclinic.patients.views import chart_tabs


@staff_view(Perm.VIEW_CLINICAL)
def chart_tab(request: StaffRequest, patient_id: int) -> HttpResponse:
    """Screening versions with their decisions, and the patient's consents."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="intake")
    history = Screening.objects.filter(patient=patient).select_related(
        "decision__decided_by", "created_by"
    )
    # The signed documents' titles and versions are shown, not their text.
    signatures = (
        ConsentSignature.objects.filter(patient=patient)
        .select_related("document", "witness", "withdrawal")
        .defer("document__body")
    )
    documents = current_documents(patient.clinic)
    return render(
        request,
        "intake/chart_tab.html",
        {
            "patient": patient,
            "tabs": chart_tabs(request, patient, "intake"),
            "screenings": history,
            "signatures": signatures,
            "status": consent_status(patient, documents=documents),
            "documents": documents.values(),
            "can_screen": has_perm(request, Perm.SCREEN),
            "can_consent": has_perm(request, Perm.MANAGE_CONSENT),
        },
    )


def _initial(
    patient: Patient, screening: Screening | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form values: the draft's own, or for a new screening the newest diagnosis."""
    if screening is not None:
        values = {name: getattr(screening, name) for name in screenings.SCREENING_FIELDS}
        values |= {fact: screening.facts.get(fact) for fact in screenings.ANSWERED_FACTS}
        trials = [
            {n: getattr(t, n) for n in screenings.TRIAL_FIELDS} for t in screening.trials.all()
        ]
        return values, trials
    primary = patient.diagnoses.order_by("-is_primary", "-recorded_at").first()
    return {"diagnosis": str(primary) if primary else ""}, []


def _screening_form(
    request: StaffRequest, patient: Patient, screening: Screening | None
) -> HttpResponse:
    values, trials = _initial(patient, screening)
    form = ScreeningForm(request.POST or None, initial=values)
    formset = TrialFormSet(request.POST or None, initial=trials, prefix="trials")
    if screening is not None:
        form.fields["route"].disabled = True
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        rows = [
            f.cleaned_data
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            saved = screenings.save_screening(
                patient=patient,
                data=form.screening_data(),
                answers=form.answers(),
                trials=rows,
                by=request.user,
                screening=screening,
                request=request,
            )
        except screenings.ScreeningLocked as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Screening saved. Review the decision support below.")
            return redirect("intake:screening", saved.pk)
    context = {
        "patient": patient,
        "form": form,
        "formset": formset,
        "screening": screening,
        "medications": screenings.medication_flags(patient),
        "weight": screenings.latest_weight_kg(patient),
    }
    status = 400 if form.errors or formset.total_error_count() else 200
    return render(request, "intake/screening_form.html", context, status=status)


@staff_view(Perm.SCREEN)
@require_http_methods(["GET", "POST"])
def screening_new(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.SCREEN)
    return _screening_form(request, patient, None)


@staff_view(Perm.SCREEN)
@require_http_methods(["GET", "POST"])
def screening_edit(request: StaffRequest, screening_id: int) -> HttpResponse:
    screening = get_screening_for_user(request, screening_id, Perm.SCREEN)
    if screening.is_signed:
        messages.error(
            request, "This screening is signed and cannot change. Start a correction instead."
        )
        return redirect("intake:screening", screening.pk)
    return _screening_form(request, screening.patient, screening)


def _detail(
    request: HttpRequest, screening: Screening, form: DecisionForm | None, status: int = 200
) -> HttpResponse:
    decision = (
        EligibilityDecision.objects.filter(screening=screening).select_related("decided_by").first()
    )
    assessment = screenings.assess(screening) if decision is None else None
    if form is None and assessment is not None:
        form = DecisionForm(initial={"decision": assessment.suggestion.suggestion})
    return render(
        request,
        "intake/screening_detail.html",
        {
            "screening": screening,
            "patient": screening.patient,
            "decision": decision,
            "assessment": assessment,
            "trials": screening.trials.all(),
            "form": form,
            "can_screen": has_perm(request, Perm.SCREEN),
            "facts": _fact_rows(screening),
            "suggestion_label": Suggestion(assessment.suggestion.suggestion).label
            if assessment
            else "",
            "replaced": Screening.objects.filter(supersedes=screening).first(),
        },
        status=status,
    )


def _fact_rows(screening: Screening) -> list[tuple[str, bool | None]]:
    labels = FACT_LABELS | {
        "maoi": "MAOI (from medication list)",
        "benzodiazepine": "Benzodiazepine (from medication list)",
        "psychostimulant": "Psychostimulant (from medication list)",
        "cns_depressant": "Other CNS depressant (from medication list)",
    }
    return [(labels.get(name, name), value) for name, value in screening.facts.items()]


@staff_view(Perm.VIEW_CLINICAL)
def screening_detail(request: StaffRequest, screening_id: int) -> HttpResponse:
    screening = get_screening_for_user(request, screening_id)
    audit.record(
        request=request, action=Action.VIEW, patient_id=screening.patient_id, obj=screening
    )
    return _detail(request, screening, None)


@staff_view(Perm.SCREEN)
@require_POST
def screening_sign(request: StaffRequest, screening_id: int) -> HttpResponse:
    screening = get_screening_for_user(request, screening_id, Perm.SCREEN)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            screenings.sign_decision(
                screening=screening,
                decision=form.cleaned_data["decision"],
                rationale=form.cleaned_data["rationale"],
                by=request.user,
                request=request,
            )
        except screenings.ScreeningLocked as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Decision signed.")
            return redirect("intake:screening", screening.pk)
    return _detail(request, screening, form, status=400)


@staff_view(Perm.SCREEN)
@require_POST
def screening_correct(request: StaffRequest, screening_id: int) -> HttpResponse:
    screening = get_screening_for_user(request, screening_id, Perm.SCREEN)
    try:
        draft = screenings.start_correction(screening=screening, by=request.user, request=request)
    except screenings.ScreeningLocked as exc:
        messages.error(request, str(exc))
        return redirect("intake:screening", screening.pk)
    messages.success(request, f"Version {draft.version} started from version {screening.version}.")
    return redirect("intake:screening_edit", draft.pk)
