"""Review tasks (raised from positive screens and exposure past a threshold, closed by a
prescriber) and treatment decisions, each write with its audit event."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit.models import Action
from katclinic.audit.services import record
from katclinic.clinics.registry import DecimalSetting, all_settings
from katclinic.measures.catalogue import definition_of
from katclinic.measures.models import Course, Response
from katclinic.patients.models import Patient
from katclinic.surveillance import exposure
from katclinic.surveillance.clinic_settings import REVIEW_MG_12_MONTHS, REVIEW_MG_30_DAYS
from katclinic.surveillance.exposure import DoseEvent
from katclinic.surveillance.models import (
    Decision,
    ExposureFinding,
    ExposureWindow,
    ReviewKind,
    ReviewState,
    ReviewTask,
    TreatmentDecision,
)
from katclinic.surveillance.schedule import SCREEN_INSTRUMENTS
from katclinic.surveillance.sources import dose_events


class ReviewError(ValueError):
    """A review task cannot be closed as asked; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def raise_review_task(
    *,
    patient: Patient,
    kind: ReviewKind,
    reason: str,
    source_type: str,
    source_id: int,
    request: HttpRequest | None = None,
    user: User | None = None,
) -> tuple[ReviewTask, bool]:
    """Open a review task for a finding, or return the one already open for it.

    Returns the task and whether it was created. Safe to call again for the same
    finding (a background job that retries, a page submitted twice).
    """
    with transaction.atomic():
        existing = (
            ReviewTask.objects.select_for_update()
            .filter(
                clinic_id=patient.clinic_id,
                kind=kind,
                source_type=source_type,
                source_id=source_id,
                state=ReviewState.OPEN,
            )
            .first()
        )
        if existing is not None:
            return existing, False
        task = ReviewTask.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            kind=kind,
            reason=reason,
            source_type=source_type,
            source_id=source_id,
        )
        record(
            request=request,
            user=user,
            action=Action.CREATE,
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            obj=task,
            detail={"kind": kind.value, "source": f"{source_type}:{source_id}"},
        )
    return task, True


def close_review_task(
    *, task: ReviewTask, outcome: str, user: User, request: HttpRequest | None = None
) -> ReviewTask:
    """Close an open task with what was decided or done."""
    outcome = outcome.strip()
    if not outcome:
        raise ReviewError("outcome", "Say what was decided or done before closing the task.")
    with transaction.atomic():
        locked = ReviewTask.objects.select_for_update().get(pk=task.pk)
        if locked.state != ReviewState.OPEN:
            raise ReviewError("task", "This review task is already closed.")
        locked.state = ReviewState.CLOSED
        locked.closed_at = timezone.now()
        locked.closed_by = user
        locked.outcome = outcome
        locked.save(update_fields=["state", "closed_at", "closed_by", "outcome"])
        record(
            request=request,
            user=user,
            action=Action.UPDATE,
            clinic_id=locked.clinic_id,
            patient_id=locked.patient_id,
            obj=locked,
            detail={"closed": True, "kind": locked.kind},
        )
    return locked


# --------------------------------------------------------------------------- screens


def is_positive_screen(response: Response) -> bool:
    """A surveillance screen with any flag: ``raise_for_positive_screen`` opens a task for it."""
    return response.instrument_key in SCREEN_INSTRUMENTS.values() and bool(response.flags)


def raise_for_positive_screen(response: Response, request: HttpRequest | None) -> None:
    """Called by measures for each stored response: a surveillance screen with any flag is
    positive and opens a review task for the prescriber, in the submission's transaction."""
    if not is_positive_screen(response):
        return
    definition = definition_of(response.instrument)
    labels = {rule.code: rule.label for rule in definition.flags}
    found = ", ".join(labels.get(code, code) for code in response.flags)
    raise_review_task(
        patient=response.patient,
        kind=ReviewKind.POSITIVE_SCREEN,
        reason=f"{definition.code.display or definition.title}: {found}.",
        source_type="measures.Response",
        source_id=response.pk,
        request=request,
        user=response.submitted_by,
    )


# --------------------------------------------------------------------------- exposure

WINDOWS: dict[ExposureWindow, tuple[timedelta, DecimalSetting]] = {
    ExposureWindow.DAYS_30: (exposure.ROLLING_30_DAYS, REVIEW_MG_30_DAYS),
    ExposureWindow.MONTHS_12: (exposure.ROLLING_12_MONTHS, REVIEW_MG_12_MONTHS),
}


def thresholds(patient: Patient) -> dict[ExposureWindow, Decimal]:
    """The clinic's review threshold for each window, read in one query."""
    values = all_settings(patient.clinic_id)
    return {window: values[setting] for window, (_, setting) in WINDOWS.items()}


def check_exposure(
    *,
    patient: Patient,
    events: list[DoseEvent] | None = None,
    now: datetime | None = None,
    request: HttpRequest | None = None,
    limits: dict[ExposureWindow, Decimal] | None = None,
) -> list[ReviewTask]:
    """Open an EXPOSURE review task for each rolling window now above its threshold.

    The finding is the dose that crossed the threshold: checking again (the periodic job,
    the review page) finds it and raises nothing, even after its task was closed.
    ``limits``: the clinic's ``thresholds``, when the caller has read them already.
    """
    now = now or timezone.now()
    events = dose_events(patient, until=now) if events is None else events
    raised = []
    for window, threshold in (thresholds(patient) if limits is None else limits).items():
        length = WINDOWS[window][0]
        current = exposure.rolling(events, at=now, length=length).mg
        crossed = exposure.crossings(
            [e for e in events if e.at <= now], length=length, threshold=threshold
        )
        if current <= threshold or not crossed:
            continue
        task = _exposure_finding(patient, window, threshold, crossed[-1], events, request)
        if task is not None:
            raised.append(task)
    return raised


def _exposure_finding(
    patient: Patient,
    window: ExposureWindow,
    threshold: Decimal,
    dose: DoseEvent,
    events: list[DoseEvent],
    request: HttpRequest | None,
) -> ReviewTask | None:
    length = WINDOWS[window][0]
    with transaction.atomic():
        finding, created = ExposureFinding.objects.get_or_create(
            patient=patient,
            window=window,
            dose_source_type=dose.source_type,
            dose_source_id=dose.source_id,
            defaults={
                "clinic_id": patient.clinic_id,
                "threshold_mg": threshold,
                "dose_at": dose.at,
                "total_mg": exposure.rolling(events, at=dose.at, length=length).mg,
            },
        )
        if not created:
            return None
        task, _ = raise_review_task(
            patient=patient,
            kind=ReviewKind.EXPOSURE,
            reason=(
                f"{finding.total_mg} mg of ketamine in the {window.label.lower()} to "
                f"{timezone.localtime(dose.at):%Y-%m-%d}, above the clinic's review threshold "
                f"of {threshold} mg."
            ),
            source_type="surveillance.ExposureFinding",
            source_id=finding.pk,
            request=request,
        )
    return task


# --------------------------------------------------------------------------- decisions


def record_decision(
    *,
    patient: Patient,
    decision: str,
    reason: str,
    by: User,
    request: HttpRequest | None,
    course: Course | None = None,
    close_open_tasks: bool = False,
) -> TreatmentDecision:
    """Record a decision to continue, taper or stop, with its reason; optionally close the
    patient's open review tasks with it. Raises ReviewError naming the field."""
    reason = reason.strip()
    if decision not in Decision.values:
        raise ReviewError("decision", "Choose continue, taper or stop.")
    if not reason:
        raise ReviewError("reason", "Give the reason for the decision.")
    if course is not None and course.patient_id != patient.pk:
        raise ReviewError("course", "This course belongs to another patient.")
    with transaction.atomic():
        row = TreatmentDecision.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            course=course,
            decision=decision,
            reason=reason,
            decided_by=by,
        )
        record(
            request=request,
            user=by,
            action=Action.CREATE,
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            obj=row,
            detail={"decision": decision},
        )
        if close_open_tasks:
            outcome = f"{row.get_decision_display()}: {reason}"
            for task in ReviewTask.objects.filter(patient=patient).open().order_by("pk"):
                close_review_task(task=task, outcome=outcome, user=by, request=request)
    return row
