"""The outcome rollup: one row per treatment course, kept current on write.

The dashboard aggregates these rows only, so a page view never scans responses.
Each row is recomputed whole from the course's responses and sessions by
`katclinic.outcomes.services.refresh_courses`, so a refresh is idempotent.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.measures.models import Course
from katclinic.patients.models import Patient


class CourseOutcomeQuerySet(models.QuerySet["CourseOutcome"]):
    def for_clinics(self, clinic_ids: list[int]) -> CourseOutcomeQuerySet:
        return self.filter(clinic_id__in=clinic_ids)


class CourseOutcome(models.Model):
    """What one course achieved on the clinic's outcome instrument, and what it cost.

    Times are those of the scores that met each criterion. `days_to_response` is
    the follow-up for time to response: the day of response, or the last
    observation when response has not happened (censored). `durability_days`
    is the same for loss of response, counted from the response.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="outcome")
    protocol_key = models.CharField(max_length=64, blank=True)
    protocol_title = models.CharField(max_length=500, blank=True)
    route = models.CharField(max_length=20, blank=True)
    instrument = models.CharField(max_length=40)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    start_month = models.DateField(help_text="First day of the month the course started")
    baseline_total = models.SmallIntegerField(null=True, blank=True)
    baseline_at = models.DateTimeField(null=True, blank=True)
    latest_total = models.SmallIntegerField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    best_percent_change = models.FloatField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    remitted_at = models.DateTimeField(null=True, blank=True)
    response_lost_at = models.DateTimeField(null=True, blank=True)
    last_observed_at = models.DateTimeField(null=True, blank=True)
    days_to_response = models.PositiveIntegerField(null=True, blank=True)
    durability_days = models.PositiveIntegerField(null=True, blank=True)
    sessions_given = models.PositiveIntegerField(default=0)
    sessions_to_response = models.PositiveIntegerField(null=True, blank=True)
    cumulative_mg = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    side_effects = models.PositiveIntegerField(default=0)
    adverse_events = models.PositiveIntegerField(default=0)
    threshold_alerts = models.PositiveIntegerField(default=0)
    discharge_delays = models.PositiveIntegerField(default=0)
    questionnaires_due = models.PositiveIntegerField(default=0)
    questionnaires_answered = models.PositiveIntegerField(default=0)
    induction_days = models.PositiveIntegerField()
    induction_due_on = models.DateField(
        help_text="The end-of-induction window closes after this day"
    )
    induction_total = models.SmallIntegerField(null=True, blank=True)
    induction_responded = models.BooleanField(null=True, blank=True)
    induction_remitted = models.BooleanField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    objects = CourseOutcomeQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(questionnaires_answered__lte=F("questionnaires_due")),
                name="outcome_answered_within_due",
            ),
            models.CheckConstraint(
                condition=Q(response_lost_at__isnull=True) | Q(responded_at__isnull=False),
                name="outcome_loss_needs_response",
            ),
            models.CheckConstraint(
                condition=Q(cumulative_mg__gte=0), name="outcome_cumulative_mg_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(induction_total__isnull=False) | Q(induction_responded__isnull=True),
                name="outcome_induction_result_needs_score",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["clinic", "start_month"]),
            models.Index(fields=["clinic", "instrument"]),
            models.Index(fields=["clinic", "refreshed_at"]),
        ]

    def __str__(self) -> str:
        return f"Outcome of course {self.course_id}"


class RefreshMark(models.Model):
    """How far the periodic rollup refresh has read (one row per job name)."""

    name = models.CharField(max_length=60, unique=True)
    at = models.DateTimeField()
    response_id = models.BigIntegerField(default=0, help_text="Newest response id read")
    previous_response_id = models.BigIntegerField(
        default=0, help_text="Newest response id the run before read"
    )

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
