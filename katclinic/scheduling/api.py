from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.api.pagination import AuditedPage
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import get_patient_for_user, require_perm
from katclinic.clinics.permissions import Perm
from katclinic.scheduling.models import Appointment

router = Router(tags=["appointments"])


class AppointmentOut(Schema):
    id: int
    patient_id: int
    kind: str
    state: str
    staff_id: int
    room_id: int | None
    chair_id: int | None
    start: datetime
    end: datetime
    plan_id: int | None


@router.get("/", response=list[AppointmentOut], url_name="appointments_list")
@requires(Scope.APPOINTMENTS_READ)
@paginate(AuditedPage, patient_of=lambda appointment: appointment.patient_id)
def list_appointments(request: HttpRequest) -> QuerySet[Appointment]:
    """Appointments of the token's clinic, in time order."""
    clinic = require_perm(request, Perm.VIEW_PATIENT_LIST)
    return Appointment.objects.for_clinic(clinic).order_by("start", "pk")


@router.get(
    "/patient/{patient_id}", response=list[AppointmentOut], url_name="appointments_for_patient"
)
@requires(Scope.APPOINTMENTS_READ)
def patient_appointments(request: HttpRequest, patient_id: int) -> QuerySet[Appointment]:
    patient = get_patient_for_user(request, patient_id)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": "api", "section": "appointments"},
    )
    return Appointment.objects.filter(patient=patient).order_by("start", "pk")
