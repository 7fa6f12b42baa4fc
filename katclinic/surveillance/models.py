"""Review tasks: findings that a prescriber must look at and close with a decision.

A review task comes from a finding, not from a person: a positive surveillance screen,
a cumulative exposure past a clinic threshold, lozenge counts that do not reconcile, or
liver tests that are due. Raising the same finding twice finds the open task instead of
making a second one (`source_type` and `source_id` name the finding's record).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient


class ReviewKind(models.TextChoices):
    POSITIVE_SCREEN = "positive_screen", "Positive surveillance screen"
    EXPOSURE = "exposure", "Cumulative exposure past the review threshold"
    COUNT_MISMATCH = "count_mismatch", "Lozenge count does not reconcile"
    LIVER_TESTS = "liver_tests", "Liver tests due"
    HOME_SESSION = "home_session", "Take-home session needs review"


class ReviewState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReviewTaskQuerySet(models.QuerySet["ReviewTask"]):
    def for_clinic(self, clinic: Clinic) -> ReviewTaskQuerySet:
        return self.filter(clinic=clinic)

    def open(self) -> ReviewTaskQuerySet:
        return self.filter(state=ReviewState.OPEN)


class ReviewTask(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="review_tasks")
    kind = models.CharField(max_length=20, choices=ReviewKind.choices)
    reason = models.TextField()
    source_type = models.CharField(max_length=60)
    source_id = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=ReviewState.choices, default=ReviewState.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.TextField(blank=True)

    objects = ReviewTaskQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(kind__in=ReviewKind.values), name="review_kind"),
            models.CheckConstraint(
                condition=Q(state="open", closed_at__isnull=True, outcome="")
                | Q(state="closed", closed_at__isnull=False, closed_by__isnull=False)
                & ~Q(outcome=""),
                name="review_closed_with_outcome",
            ),
            models.UniqueConstraint(
                fields=["clinic", "kind", "source_type", "source_id"],
                condition=Q(state="open"),
                name="review_one_open_task_per_finding",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["clinic", "state", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id} ({self.state})"
