"""JSON API of measures: submit responses, read scores, handle safety alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import StrictBool, StrictInt

from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    deny,
    get_in_clinic,
    get_patient_for_edit,
    get_patient_for_user,
    require_perm,
)
from katclinic.clinics.permissions import Perm
from katclinic.measures import safety, services
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.fhir_questionnaire import to_fhir_questionnaire
from katclinic.measures.models import CloseAction, Response, SafetyAlert, Source
from katclinic.measures.scoring import domain_scores
from katclinic.patients.models import Patient

router = Router(tags=["measures"])

Key = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class ResponseIn(Schema):
    patient_id: int
    instrument: Key
    answers: dict[Annotated[str, Field(max_length=40)], StrictInt | StrictBool | None] = Field(
        max_length=100
    )
    comment: str = Field(default="", max_length=services.COMMENT_MAX)


class ResponseOut(Schema):
    id: int
    patient_id: int
    instrument: str = Field(alias="instrument_key")
    version: str = Field(alias="instrument_version")
    submitted_at: datetime
    source: str
    complete: bool
    total: int | None
    band: str
    flags: list[str]
    risk: str
    subscales: dict[str, int | None]
    domains: dict[str, int | None] = Field(
        default_factory=dict,
        description="Each domain's score for scales counted by domain (QIDS-SR16), else empty",
    )
    alert_raised: bool = Field(alias="flagged")
    is_current: bool

    @staticmethod
    def resolve_domains(obj: Response) -> dict[str, int | None]:
        return domain_scores(definition_of(obj.instrument), obj.answers)


class SubmittedOut(ResponseOut):
    crisis_resources: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: list[dict[str, str]] = []


class AlertOut(Schema):
    id: int
    patient_id: int
    response_id: int | None
    kind: str
    reason: str
    state: str
    assigned_to_id: int | None
    raised_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    action: str
    note: str


class CloseIn(Schema):
    action: CloseAction
    note: str = Field(min_length=1, max_length=4000)


def _patient_for_submit(request: HttpRequest, patient_id: int) -> Patient:
    """Staff of the token's clinic who enter measures, or the patient themself."""
    user = request.user
    if user.is_authenticated and not user.is_staff_member:
        patient = Patient.objects.filter(pk=patient_id, user=user).first()
        if patient is None:
            deny(request, reason="not this patient's record", patient_id=patient_id, not_found=True)
        return patient
    return get_patient_for_edit(request, patient_id, Perm.ENTER_MEASURES)


@router.post("/responses", response={201: SubmittedOut, 422: ErrorOut}, url_name="measures_submit")
@requires(Scope.MEASURES_WRITE)
def submit(request: HttpRequest, payload: ResponseIn) -> Status:
    """Validate, score and store a questionnaire response; 422 names each bad answer."""
    patient = _patient_for_submit(request, payload.patient_id)
    staff = request.user.is_staff_member  # type: ignore[union-attr]
    try:
        response = services.submit_response(
            patient=patient,
            instrument_key=payload.instrument,
            answers=payload.answers,
            source=Source.API if staff else Source.PORTAL,
            submitted_by=request.user,  # type: ignore[arg-type]
            request=request,
            comment=payload.comment,
        )
    except services.SubmissionError as exc:
        errors = [
            {
                "field": e.link_id
                if e.link_id in ("instrument", "comment")
                else f"answers.{e.link_id}",
                "message": e.message,
            }
            for e in exc.errors
        ]
        return Status(422, {"detail": "Invalid answers; nothing was stored", "errors": errors})
    out = SubmittedOut.model_validate(response, from_attributes=True)
    if response.flagged:
        out.crisis_resources = patient.clinic.crisis_resources
    return Status(201, out)


@router.get(
    "/patients/{patient_id}/responses", response=list[ResponseOut], url_name="measures_responses"
)
@requires(Scope.MEASURES_READ)
def list_responses(
    request: HttpRequest, patient_id: int, instrument: str = "", limit: int = 100
) -> Any:
    """A patient's current responses, newest first (at most 500)."""
    patient = get_patient_for_user(request, patient_id, Perm.VIEW_CLINICAL)
    audit.record(
        request=request,
        action=Action.VIEW,
        patient_id=patient.pk,
        obj=patient,
        detail={"section": "measures", "via": "api"},
    )
    rows = (
        Response.objects.current()
        .filter(patient=patient)
        .select_related("instrument")
        .order_by("-submitted_at", "-pk")
    )
    if instrument:
        rows = rows.filter(instrument_key=instrument[:40])
    return rows[: max(1, min(limit, 500))]


@router.get("/instruments/{key}/questionnaire", url_name="measures_questionnaire")
@requires(Scope.MEASURES_READ)
def questionnaire(request: HttpRequest, key: str) -> dict[str, Any]:
    """The instrument's current version for this clinic as a FHIR R4 Questionnaire."""
    clinic = getattr(request, "clinic", None)
    instrument = current_instrument(key[:40], clinic.pk) if clinic is not None else None
    if instrument is None:
        deny(request, reason="no such instrument", not_found=True)
    return to_fhir_questionnaire(definition_of(instrument))


def _alert(request: HttpRequest, alert_id: int) -> SafetyAlert:
    return get_in_clinic(
        request, SafetyAlert.objects, alert_id, what="alert", perm=Perm.HANDLE_ALERTS
    )


@router.get("/alerts", response=list[AlertOut], url_name="measures_alerts")
@requires(Scope.ALERTS_READ)
def list_alerts(request: HttpRequest, include_closed: bool = False) -> Any:
    """The clinic's safety alerts not yet closed (or all, newest first, up to 200)."""
    clinic = require_perm(request, Perm.HANDLE_ALERTS)
    alerts = SafetyAlert.objects.for_clinic(clinic).order_by("-raised_at")
    shown = list((alerts if include_closed else alerts.unhandled())[:200])
    audit.record_list(request=request, patient_ids=[a.patient_id for a in shown])
    return shown


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, 409: ErrorOut},
    url_name="measures_alert_ack",
)
@requires(Scope.ALERTS_WRITE)
def acknowledge(request: HttpRequest, alert_id: int) -> Status:
    alert = _alert(request, alert_id)
    try:
        acknowledged = safety.acknowledge_alert(alert=alert, by=request.user, request=request)  # type: ignore[arg-type]
    except safety.AlertError as exc:
        return Status(409, {"detail": str(exc)})
    return Status(200, acknowledged)


@router.post(
    "/alerts/{alert_id}/close",
    response={200: AlertOut, 409: ErrorOut},
    url_name="measures_alert_close",
)
@requires(Scope.ALERTS_WRITE)
def close(request: HttpRequest, alert_id: int, payload: CloseIn) -> Status:
    alert = _alert(request, alert_id)
    try:
        closed = safety.close_alert(
            alert=alert,
            action=payload.action,
            note=payload.note,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except safety.AlertError as exc:
        return Status(409, {"detail": str(exc)})
    return Status(200, closed)
