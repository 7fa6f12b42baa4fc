from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from katclinic.audit import services as audit
from katclinic.clinics.access import (
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    require_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.patients import services
from katclinic.patients.forms import (
    LIST_ORDERS,
    AllergyForm,
    DiagnosisForm,
    MedicationForm,
    PatientForm,
    PatientListForm,
    WeightForm,
)
from katclinic.patients.models import Patient
from katclinic.patients.overview import overview_lists
from katclinic.patients.tabs import TABS
from katclinic.smart.launch import launchable_apps

PAGE_SIZE = 25


@staff_view(Perm.VIEW_PATIENT_LIST)
def patient_list(request: StaffRequest) -> HttpResponse:
    form = PatientListForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "patients/list.html",
            {"form": form, "page": None, "q": "", "query": ""},
            status=400,
        )
    data = form.cleaned_data
    patients = Patient.objects.for_clinic(request.clinic).search(data["q"])
    if data["stage"]:
        patients = patients.filter(stage=data["stage"])
    patients = patients.order_by(*LIST_ORDERS[data["sort"] or "name"])
    page = Paginator(
        patients.only("pk", "mrn", "first_name", "last_name", "date_of_birth", "stage", "phone"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    audit.record_list(
        request=request, patient_ids=[p.pk for p in page.object_list], what="patient list"
    )
    query = request.GET.copy()
    query.pop("page", None)
    template = "patients/_rows.html" if request.headers.get("HX-Request") else "patients/list.html"
    return render(
        request,
        template,
        {"form": form, "page": page, "q": data["q"], "query": query.urlencode()},
    )


# A stand-in patient id: each tab's URL is reversed once per process, then the id put in.
_ANY_ID = 987654321
_tab_links: dict[tuple[frozenset[str], str, int], list[tuple[str, str, str]]] = {}
_tab_bars: dict[tuple[frozenset[str], str, int, str], str] = {}


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A changed setting (tests change the URLconf, for one) has the links built again."""
    _tab_links.clear()
    _tab_bars.clear()


def _tabs_for(request: HttpRequest) -> list[tuple[str, str, str]]:
    """(key, label, URL with the stand-in id) of the tabs the user's roles may open."""
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    key = (roles, get_script_prefix(), len(TABS))
    found = _tab_links.get(key)
    if found is None:
        found = _tab_links[key] = [
            (t.key, t.label, reverse(t.url_name, args=[_ANY_ID]))
            for t in TABS
            if has_perm(request, t.perm)
        ]
    return found


def tab_bar_html(tabs: list[dict[str, Any]]) -> SafeString:
    """The tab links as the chart header's template wrote them, the current one marked."""
    return format_html_join(
        "",
        '<a href="{}"{}>{}</a>',
        ((tab["url"], _CURRENT if tab["current"] else "", tab["label"]) for tab in tabs),
    )


_CURRENT = SafeString(' aria-current="page"')


class TabBar(list[dict[str, Any]]):
    """The chart's tabs on one page (label, URL, whether current), with their markup."""

    def __init__(self, tabs: list[dict[str, Any]], html: SafeString) -> None:
        super().__init__(tabs)
        self.html = html


def chart_tabs(request: HttpRequest, patient: Patient, current: str) -> TabBar:
    links = _tabs_for(request)
    pk, stand_in = str(patient.pk), str(_ANY_ID)
    tabs = [
        {"label": label, "url": url.replace(stand_in, pk), "current": key == current}
        for key, label, url in links
    ]
    # The markup with the stand-in id, once per roles and current tab; then the id put in.
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    bar_key = (roles, get_script_prefix(), len(TABS), current)
    markup = _tab_bars.get(bar_key)
    if markup is None:
        markup = _tab_bars[bar_key] = tab_bar_html(
            [{"label": label, "url": url, "current": key == current} for key, label, url in links]
        )
    # Safe: the cached markup was escaped, and a primary key is digits only.
    return TabBar(tabs, mark_safe(markup.replace(stand_in, pk)))  # noqa: S308


@staff_view(Perm.VIEW_DEMOGRAPHICS)
def chart(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id)
    clinical = has_perm(request, Perm.VIEW_CLINICAL)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="overview")
    context = {
        "patient": patient,
        "tabs": chart_tabs(request, patient, "overview"),
        "clinical": clinical,
        "can_edit": has_perm(request, Perm.EDIT_DEMOGRAPHICS),
        "can_edit_clinical": has_perm(request, Perm.EDIT_CLINICAL),
        "can_export": has_perm(request, Perm.MANAGE_CLINIC),
    }
    if clinical:
        lists = overview_lists(patient)
        context |= {
            "weights": lists.weights,
            "allergies": lists.allergies,
            "medications": lists.medications,
            "diagnoses": lists.diagnoses,
            # SMART apps staff may open for this patient (EHR launch).
            "launch_apps": launchable_apps(request.clinic),
        }
    return render(request, "patients/chart.html", context)


@staff_view(Perm.EDIT_DEMOGRAPHICS)
@require_http_methods(["GET", "POST"])
def register(request: StaffRequest) -> HttpResponse:
    clinic = require_perm(request, Perm.EDIT_DEMOGRAPHICS)
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = services.register_patient(
            clinic=clinic, data=form.patient_data(), by=request.user, request=request
        )
        messages.success(request, f"Registered {patient.full_name} as {patient.mrn}.")
        return redirect("patients:chart", patient.pk)
    return _form_page(request, form, title="Register a patient")


@staff_view(Perm.EDIT_DEMOGRAPHICS)
@require_http_methods(["GET", "POST"])
def edit(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id)
    form = PatientForm(request.POST or None, instance=Patient.objects.get(pk=patient.pk))
    if request.method == "POST" and form.is_valid():
        services.update_patient(
            patient=patient, data=form.patient_data(), by=request.user, request=request
        )
        messages.success(request, "Saved.")
        return redirect("patients:chart", patient.pk)
    return _form_page(request, form, title=f"Edit {patient.full_name}", patient=patient)


ADDERS = {
    "weight": (WeightForm, "Record a weight"),
    "allergy": (AllergyForm, "Add an allergy"),
    "medication": (MedicationForm, "Add a medication"),
    "diagnosis": (DiagnosisForm, "Add a diagnosis"),
}


@staff_view(Perm.EDIT_CLINICAL)
@require_http_methods(["GET", "POST"])
def add_item(request: StaffRequest, patient_id: int, kind: str) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.EDIT_CLINICAL)
    form_class, title = ADDERS[kind]
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _add(form, patient, request)
        messages.success(request, f"{title.split(' ', 1)[1].capitalize()} saved.")
        return redirect("patients:chart", patient.pk)
    return _form_page(request, form, title=f"{title} for {patient.full_name}", patient=patient)


def _add(form: BaseForm, patient: Patient, request: StaffRequest) -> None:
    """Store what a valid add form holds on the patient's record."""
    by = request.user
    if isinstance(form, WeightForm):
        services.record_weight(patient=patient, **form.weight_data(), by=by, request=request)
    elif isinstance(form, AllergyForm):
        services.add_allergy(patient=patient, data=form.allergy_data(), by=by, request=request)
    elif isinstance(form, MedicationForm):
        medication = form.medication_data()
        services.add_medication(patient=patient, data=medication, by=by, request=request)
    elif isinstance(form, DiagnosisForm):
        diagnosis = form.diagnosis_data()
        services.add_diagnosis(patient=patient, data=diagnosis, by=by, request=request)


def _form_page(
    request: HttpRequest, form: BaseForm, *, title: str, patient: Patient | None = None
) -> HttpResponse:
    status = 400 if form.errors else 200
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": title, "patient": patient},
        status=status,
    )
