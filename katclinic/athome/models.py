"""Take-home lozenges: prescriptions, dispenses, at-home sessions with their check-ins,
clinic alerts, and lozenge counts reconciled at visits.

A check-in attempt and a post-session check-in are written once and never changed: what
the patient reported, item by item, is the record. A session moves only forward:
checking_in -> blocked | open -> taken -> checked_out | missed; an open session whose
check-in grew too old before the dose is expired.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

USER = settings.AUTH_USER_MODEL


class PrescriptionQuerySet(models.QuerySet["TakeHomePrescription"]):
    def for_clinic(self, clinic: Clinic) -> PrescriptionQuerySet:
        return self.filter(clinic=clinic)


class TakeHomePrescription(models.Model):
    """Signed by a prescriber after checking the prescription-monitoring database."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="take_home_prescriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="take_home_prescriptions")
    product = models.CharField(max_length=200)
    strength_mg = models.DecimalField(max_digits=6, decimal_places=1)
    lozenges_per_session = models.PositiveSmallIntegerField()
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1)
    quantity = models.PositiveIntegerField()
    refills = models.PositiveSmallIntegerField(default=0)
    pharmacy = models.CharField(max_length=300)
    pdmp_checked_on = models.DateField()
    pdmp_checked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-signed_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(strength_mg__gt=0, lozenges_per_session__gt=0, quantity__gt=0),
                name="athome_rx_positive",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg=F("strength_mg") * F("lozenges_per_session")),
                name="athome_rx_dose_is_strength_times_count",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("lozenges_per_session")),
                name="athome_rx_quantity_covers_a_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.strength_mg} mg x{self.quantity}"


class Dispense(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    prescription = models.ForeignKey(
        TakeHomePrescription, on_delete=models.PROTECT, related_name="dispenses"
    )
    quantity = models.PositiveIntegerField()
    dispensed_on = models.DateField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-dispensed_on", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="athome_dispense_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} dispensed on {self.dispensed_on}"


class SessionState(models.TextChoices):
    CHECKING_IN = "checking_in", "Checking in"
    BLOCKED = "blocked", "Blocked at check-in"
    OPEN = "open", "Open: ready to take"
    EXPIRED = "expired", "Check-in expired before the dose"
    TAKEN = "taken", "Taken: post-session check-in due"
    CHECKED_OUT = "checked_out", "Completed with post-session check-in"
    MISSED = "missed", "Post-session check-in missed"


# Sessions in which the dose was taken (these count as doses and as lozenges used).
TAKEN_STATES = (SessionState.TAKEN, SessionState.CHECKED_OUT, SessionState.MISSED)


class HomeSessionQuerySet(models.QuerySet["HomeSession"]):
    def for_clinic(self, clinic: Clinic) -> HomeSessionQuerySet:
        return self.filter(clinic=clinic)

    def taken(self) -> HomeSessionQuerySet:
        return self.filter(state__in=TAKEN_STATES)


class HomeSession(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="home_sessions")
    prescription = models.ForeignKey(
        TakeHomePrescription, on_delete=models.PROTECT, related_name="sessions"
    )
    state = models.CharField(
        max_length=12, choices=SessionState.choices, default=SessionState.CHECKING_IN
    )
    started_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    lozenges = models.PositiveSmallIntegerField(null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    checkin_due_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = HomeSessionQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-started_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(state__in=SessionState.values), name="athome_session_state"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=TAKEN_STATES)
                | Q(
                    taken_at__isnull=False,
                    dose_mg__isnull=False,
                    lozenges__isnull=False,
                    checkin_due_at__isnull=False,
                ),
                name="athome_taken_session_has_dose",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(state__in=["checking_in", "open"]),
                name="athome_one_session_in_progress",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["clinic", "state", "checkin_due_at"])]

    def __str__(self) -> str:
        return f"At-home session {self.pk} ({self.state})"


class CheckIn(models.Model):
    """One check-in attempt with each item's result and reason, as submitted."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(HomeSession, on_delete=models.PROTECT, related_name="checkins")
    submitted_at = models.DateTimeField(default=timezone.now)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    monitor_name = models.CharField(max_length=200, blank=True)
    answers = models.JSONField(default=dict)
    # [{"key", "label", "passed", "reason", "todo"}] in the protocol's order.
    items = models.JSONField(default=list)
    passed = models.BooleanField()
    limits = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"Check-in {self.pk} ({'passed' if self.passed else 'blocked'})"

    @property
    def failed_items(self) -> list[dict[str, str]]:
        return [item for item in self.items if not item["passed"]]


class Severity(models.IntegerChoices):
    NONE = 0, "None"
    MILD = 1, "Mild"
    MODERATE = 2, "Moderate"
    SEVERE = 3, "Severe"


class PostSessionCheckIn(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.OneToOneField(
        HomeSession, on_delete=models.PROTECT, related_name="post_checkin"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    side_effects = models.JSONField(default=list)
    worst_severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    side_effect_notes = models.TextField(blank=True)
    # Short self-report, each 0 (not at all) to 4 (extremely); not a validated scale.
    detached_score = models.PositiveSmallIntegerField()
    unreal_score = models.PositiveSmallIntegerField()
    still_dissociated = models.BooleanField()
    feels_safe = models.BooleanField()
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    monitor_concerned = models.BooleanField()
    monitor_observation = models.TextField(blank=True)
    flags = models.JSONField(default=list)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(detached_score__lte=4, unreal_score__lte=4, worst_severity__lte=3),
                name="athome_post_checkin_ranges",
            ),
        ]

    def __str__(self) -> str:
        return f"Post-session check-in for session {self.session_id}"


class AlertKind(models.TextChoices):
    CHECKIN_BLOCKED = "checkin_blocked", "Check-in blocked"
    CHECKIN_MISSED = "checkin_missed", "Post-session check-in missed"
    SEVERE_SIDE_EFFECT = "severe_side_effect", "Severe side effect reported"
    FLAGGED_ANSWER = "flagged_answer", "Flagged post-session answer"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


class HomeAlertQuerySet(models.QuerySet["HomeAlert"]):
    def for_clinic(self, clinic: Clinic) -> HomeAlertQuerySet:
        return self.filter(clinic=clinic)

    def unresolved(self) -> HomeAlertQuerySet:
        return self.exclude(state=AlertState.CLOSED)


class HomeAlert(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="home_alerts")
    session = models.ForeignKey(HomeSession, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    reason = models.TextField()
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    objects = HomeAlertQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-raised_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["session", "kind"], name="athome_one_alert_per_kind"),
            models.CheckConstraint(
                condition=Q(state="open", acknowledged_at__isnull=True, closed_at__isnull=True)
                | Q(state="acknowledged", acknowledged_by__isnull=False, closed_at__isnull=True)
                | Q(state="closed", closed_by__isnull=False, acknowledged_by__isnull=False)
                & ~Q(note=""),
                name="athome_alert_state_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.state})"


class Reconciliation(models.Model):
    """Lozenges counted at a visit against what was dispensed and the sessions logged."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    prescription = models.ForeignKey(
        TakeHomePrescription, on_delete=models.PROTECT, related_name="reconciliations"
    )
    counted_at = models.DateTimeField(default=timezone.now)
    counted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    dispensed = models.PositiveIntegerField()
    sessions_logged = models.PositiveIntegerField()
    lozenges_per_session = models.PositiveSmallIntegerField()
    counted_remaining = models.PositiveIntegerField()
    discrepancy = models.IntegerField()
    tolerance = models.PositiveIntegerField()
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-counted_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(
                    discrepancy=F("dispensed")
                    - F("sessions_logged") * F("lozenges_per_session")
                    - F("counted_remaining")
                ),
                name="athome_discrepancy_arithmetic",
            ),
        ]

    def __str__(self) -> str:
        return f"Count {self.counted_remaining} (discrepancy {self.discrepancy})"

    @property
    def mismatch(self) -> bool:
        return abs(self.discrepancy) > self.tolerance
