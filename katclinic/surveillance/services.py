"""Raising and closing review tasks, each with its audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.audit.models import Action
from katclinic.audit.services import record
from katclinic.patients.models import Patient
from katclinic.surveillance.models import ReviewKind, ReviewState, ReviewTask


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
    user: Any = None,
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
    *, task: ReviewTask, outcome: str, user: Any, request: HttpRequest | None = None
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
