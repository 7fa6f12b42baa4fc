"""Read-only API of consultation requests, for a clinic's own intake tooling."""

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.api.pagination import Page
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import require_perm
from katclinic.clinics.permissions import Perm
from katclinic.intake.models import ConsultationRequest

router = Router(tags=["intake"])


class RequestOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    preferred_times: str
    state: str
    urgent: bool
    phq9_total: int | None
    submitted_at: datetime
    patient_id: int | None


@router.get("/requests", response=list[RequestOut], url_name="intake_requests")
@requires(Scope.PATIENTS_READ)
@paginate(Page)
def list_requests(request: HttpRequest) -> QuerySet[ConsultationRequest]:
    """Consultation requests of the token's clinic, urgent and open ones first."""
    clinic = require_perm(request, Perm.MANAGE_REQUESTS)
    audit.record(
        request=request,
        action=Action.VIEW,
        object_type="intake.consultationrequest",
        detail={"via": "api", "list": True},
    )
    return ConsultationRequest.objects.for_clinic(clinic).inbox_order()
