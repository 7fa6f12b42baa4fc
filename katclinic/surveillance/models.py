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


class ScreenKind(models.TextChoices):
    """What a protocol's surveillance item asks for (protocols.schema.SurveillanceKind)."""

    BLADDER = "bladder", "Bladder and urinary symptoms"
    MISUSE = "misuse", "Craving and misuse"
    COGNITION = "cognition", "Memory and thinking"
    LIVER_TESTS = "liver_tests", "Liver tests"


class SurveillanceDue(models.Model):
    """One occurrence of a protocol's surveillance item for a course, and what was done.

    The row is written when the screen is sent (or the liver-test reminder raised), and
    at most one exists per course, kind and due date, so a job that runs again sends
    nothing twice.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="surveillance_dues")
    course = models.ForeignKey(
        "measures.Course", on_delete=models.PROTECT, related_name="surveillance_dues"
    )
    kind = models.CharField(max_length=20, choices=ScreenKind.choices)
    due_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    invitation = models.OneToOneField(
        "measures.Invitation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveillance_due",
    )
    review_task = models.ForeignKey(
        ReviewTask, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(kind__in=ScreenKind.values), name="due_kind"),
            models.UniqueConstraint(
                fields=["course", "kind", "due_on"], name="surveillance_due_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_on} for patient {self.patient_id}"


class ExposureWindow(models.TextChoices):
    DAYS_30 = "30d", "Rolling 30 days"
    MONTHS_12 = "12m", "Rolling 12 months"


class ExposureFinding(models.Model):
    """A dose that took a rolling total past the clinic's review threshold.

    Keyed by the dose that crossed, so each crossing raises one review task however
    often the check runs, and a closed task is not raised again for the same crossing.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="exposure_findings")
    window = models.CharField(max_length=3, choices=ExposureWindow.choices)
    threshold_mg = models.DecimalField(max_digits=9, decimal_places=2)
    total_mg = models.DecimalField(max_digits=9, decimal_places=2)
    dose_at = models.DateTimeField()
    dose_source_type = models.CharField(max_length=60)
    dose_source_id = models.BigIntegerField()
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(window__in=ExposureWindow.values), name="exposure_window"
            ),
            models.CheckConstraint(
                condition=Q(total_mg__gt=models.F("threshold_mg")), name="exposure_past_threshold"
            ),
            models.UniqueConstraint(
                fields=["patient", "window", "dose_source_type", "dose_source_id"],
                name="exposure_finding_once_per_dose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.total_mg} mg in {self.window} for patient {self.patient_id}"


class Decision(models.TextChoices):
    CONTINUE = "continue", "Continue"
    TAPER = "taper", "Taper"
    STOP = "stop", "Stop"


class TreatmentDecisionQuerySet(models.QuerySet["TreatmentDecision"]):
    def for_clinic(self, clinic: Clinic) -> TreatmentDecisionQuerySet:
        return self.filter(clinic=clinic)


class TreatmentDecision(models.Model):
    """A prescriber's decision, after review, to continue, taper or stop, with the reason.

    Decisions are a record: never changed or deleted, a later one supersedes.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="treatment_decisions"
    )
    course = models.ForeignKey(
        "measures.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    objects = TreatmentDecisionQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="treatment_decision_valid"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="treatment_decision_has_reason"),
        ]
        indexes: ClassVar = [models.Index(fields=["patient", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} for patient {self.patient_id}"
