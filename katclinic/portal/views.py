"""The patient's own portal pages. Each reads only the signed-in patient's record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from katclinic.accounts.models import TotpDevice
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.fhir import registry, wire
from katclinic.patients.models import Patient
from katclinic.portal import cards, record, services
from katclinic.portal.access import get_own_journal_entry, get_own_patient
from katclinic.portal.forms import AppointmentRequestForm, JournalForm
from katclinic.portal.models import AppointmentRequest, JournalEntry, RequestKind

PatientView = Callable[..., HttpResponse]


def patient_page(view: PatientView) -> PatientView:
    """Signed in as a patient, on their own record: the view gets the Patient, not the id."""

    @wraps(view)
    def wrapped(request: HttpRequest, patient_id: int, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        return view(request, get_own_patient(request, patient_id), **kwargs)

    return wrapped


def _viewed(request: HttpRequest, patient: Patient, section: str) -> None:
    audit.record(
        request=request,
        action=Action.VIEW,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": f"portal {section}"},
    )


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """/portal/ leads a patient to their own home and staff to their worklist."""
    if not request.user.is_authenticated:
        return redirect("/accounts/login/?next=/portal/")
    patient = Patient.objects.filter(user_id=request.user.pk).values_list("pk", flat=True).first()
    if patient is None:
        return redirect("core:home")
    return redirect("portal:home", patient_id=patient)


@require_GET
@patient_page
def home(request: HttpRequest, patient: Patient) -> HttpResponse:
    _viewed(request, patient, "home")
    return render(
        request,
        "portal/home.html",
        {"patient": patient, "cards": cards.cards_for(request, patient)},
    )


@require_GET
@patient_page
def progress(request: HttpRequest, patient: Patient) -> HttpResponse:
    _viewed(request, patient, "progress")
    scores = record.own_scores(patient)
    sessions = record.own_sessions(patient)
    timeline = sorted(
        [("score", s.at, s) for s in scores] + [("session", s.at, s) for s in sessions],
        key=lambda row: row[1],
        reverse=True,
    )
    return render(
        request,
        "portal/progress.html",
        {"patient": patient, "timeline": timeline, "has_scores": bool(scores)},
    )


def _session_choices(patient: Patient) -> list[tuple[int, str]]:
    return [
        (s.pk, f"{timezone.localtime(s.at):%-d %B %Y}") for s in record.own_sessions(patient)[:20]
    ]


@require_http_methods(["GET", "POST"])
@patient_page
def journal(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = JournalForm(request.POST or None, sessions=_session_choices(patient))
    if request.method == "POST" and form.is_valid():
        services.write_journal_entry(
            patient=patient,
            text=form.cleaned_data["text"],
            shared=form.cleaned_data["shared"],
            session_id=form.cleaned_data.get("session"),
            request=request,
        )
        messages.success(request, "Your entry is saved.")
        return redirect("portal:journal", patient_id=patient.pk)
    if request.method == "GET":
        _viewed(request, patient, "journal")
    entries = JournalEntry.objects.filter(patient=patient)[:100]
    context = {"patient": patient, "form": form, "entries": entries}
    return render(request, "portal/journal.html", context, status=400 if form.errors else 200)


@require_POST
@patient_page
def journal_share(request: HttpRequest, patient: Patient, entry_id: int) -> HttpResponse:
    entry = get_own_journal_entry(request, patient, entry_id)
    shared = request.POST.get("shared") == "1"
    services.set_journal_sharing(entry=entry, shared=shared, request=request)
    messages.success(
        request, "Shared with your care team." if shared else "This entry is private again."
    )
    return redirect("portal:journal", patient_id=patient.pk)


def _upcoming(patient: Patient) -> list[Any]:
    return list(cards.upcoming_appointments(patient)[:20])


@require_http_methods(["GET", "POST"])
@patient_page
def appointments(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Upcoming visits, past sessions, and the form to ask for a change."""
    upcoming = _upcoming(patient)
    visits = {a.pk: a for a in upcoming}
    choices = [
        (a.pk, f"{a.get_kind_display()}, {cards.local(a, a.start):%A %-d %B %H:%M}")
        for a in upcoming
    ]
    form = AppointmentRequestForm(request.POST or None, visits=choices)
    if request.method == "POST" and form.is_valid():
        chosen = visits.get(form.cleaned_data["appointment"] or 0)
        services.request_appointment_change(
            patient=patient,
            kind=RequestKind(form.cleaned_data["kind"]),
            appointment_id=chosen.pk if chosen else None,
            starts_at=chosen.start if chosen else None,
            preferred_times=form.cleaned_data["preferred_times"],
            message=form.cleaned_data["message"],
            request=request,
        )
        messages.success(request, "Your request is with the front desk. They will contact you.")
        return redirect("portal:appointments", patient_id=patient.pk)
    if request.method == "GET":
        _viewed(request, patient, "visits")
    context = {
        "patient": patient,
        "form": form,
        "upcoming": [(a, f"{cards.local(a, a.start):%A %-d %B, %H:%M}") for a in upcoming],
        "sessions": record.own_sessions(patient),
        "requests": AppointmentRequest.objects.filter(patient=patient).order_by("-created_at")[:10],
    }
    return render(request, "portal/appointments.html", context, status=400 if form.errors else 200)


@require_GET
@patient_page
def my_record(request: HttpRequest, patient: Patient) -> HttpResponse:
    _viewed(request, patient, "record")
    fhir = _fhir_available()
    return render(request, "portal/record.html", {"patient": patient, "fhir": fhir})


def _fhir_available() -> bool:
    return "Patient" in registry.REGISTRY


@require_GET
@patient_page
def record_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    body = record.record_pdf(patient)
    services.record_export(patient=patient, fmt="pdf", request=request)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="record-{patient.mrn}.pdf"'
    return response


@require_GET
@patient_page
def record_fhir(request: HttpRequest, patient: Patient) -> HttpResponse:
    bundle = record.record_bundle(patient, base=request.build_absolute_uri("/fhir/R4/"))
    if bundle is None:
        return render(
            request, "portal/record.html", {"patient": patient, "fhir": False}, status=404
        )
    services.record_export(patient=patient, fmt="fhir", request=request)
    response = HttpResponse(wire.dumps(bundle), content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="record-{patient.mrn}.json"'
    return response


@require_GET
@patient_page
def security(request: HttpRequest, patient: Patient) -> HttpResponse:
    enrolled = TotpDevice.objects.filter(user=patient.user, confirmed_at__isnull=False).exists()
    context = {
        "patient": patient,
        "enrolled": enrolled,
        "setup_url": reverse("accounts:setup_second_factor"),
    }
    return render(request, "portal/security.html", context)
