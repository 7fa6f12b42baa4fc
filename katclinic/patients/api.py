from datetime import date

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.api.pagination import AuditedPage
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.patients.models import Patient

router = Router(tags=["patients"])


class PatientOut(Schema):
    id: int
    mrn: str
    first_name: str
    last_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: date
    sex_at_birth: str
    stage: str


class PatientFilter(Schema):
    q: str = ""


@router.get("/", response=list[PatientOut], url_name="patients_list")
@requires(Scope.PATIENTS_READ)
@paginate(AuditedPage, patient_of=lambda patient: patient.pk)
def list_patients(request: HttpRequest, filters: Query[PatientFilter]) -> QuerySet[Patient]:
    """Patients of the token's clinic, searched by name, record number or date of birth."""
    clinic = require_perm(request, Perm.VIEW_PATIENT_LIST)
    return (
        Patient.objects.for_clinic(clinic)
        .search(filters.q[:100])
        .order_by("last_name", "first_name", "pk")
    )


@router.get("/{patient_id}", response=PatientOut, url_name="patients_detail")
@requires(Scope.PATIENTS_READ)
def get_patient(request: HttpRequest, patient_id: int) -> Patient:
    patient = get_patient_for_user(request, patient_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": "api"},
    )
    return patient
