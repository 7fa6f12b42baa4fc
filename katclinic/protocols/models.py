"""Protocol library per clinic, and individual treatment plans built from it.

A protocol version's data never changes once any plan uses it (a database trigger refuses
the update); a signed plan version never changes at all (another trigger). Amendments are new
versions of the same plan, each signed with a SHA-256 digest of its frozen content.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.protocols.schema import Protocol, load_protocol

# Parsed protocols by version id, with the data each was parsed from: a version's data never
# changes once active or used by a plan, and a draft edited in place (or a reused id) no longer
# equals the stored data, so it is parsed again. Comparing the data costs far less than the
# validation. `forget_protocol` drops an entry when a draft's data is replaced.
_PARSED: dict[int, tuple[Any, Protocol]] = {}
_PARSED_MAX = 512


def parsed_protocol(pk: int | None, data: Any) -> Protocol:
    """`load_protocol(data)`, cached per process for a stored version."""
    found = _PARSED.get(pk) if pk is not None else None
    if found is not None and found[0] == data:
        return found[1]
    protocol = load_protocol(data)
    if pk is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[pk] = (copy.deepcopy(data), protocol)
    return protocol


def forget_protocol(pk: int) -> None:
    _PARSED.pop(pk, None)


class ProtocolStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ProtocolVersionQuerySet(models.QuerySet["ProtocolVersion"]):
    def for_clinic(self, clinic: Clinic) -> ProtocolVersionQuerySet:
        return self.filter(clinic=clinic)

    def active(self) -> ProtocolVersionQuerySet:
        return self.filter(status=ProtocolStatus.ACTIVE)


class ProtocolVersion(models.Model):
    """One version of a protocol in one clinic's library; `data` is a validated protocol file."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="protocol_versions")
    key = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    route = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=ProtocolStatus.choices, default=ProtocolStatus.DRAFT
    )
    data = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    change_note = models.TextField(blank=True)
    shipped_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The shipped protocol version this clinic version was adopted from, if any",
    )

    objects = ProtocolVersionQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["key", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["clinic", "key", "version"], name="protocol_version_unique"
            ),
            models.UniqueConstraint(
                fields=["clinic", "key"],
                condition=Q(status="active"),
                name="one_active_protocol_version",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "retired"]),
                name="protocol_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @cached_property
    def protocol(self) -> Protocol:
        return parsed_protocol(self.pk, self.data)


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft (not signed)"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class PlanQuerySet(models.QuerySet["Plan"]):
    def for_clinic(self, clinic: Clinic) -> PlanQuerySet:
        return self.filter(clinic=clinic)


class Plan(models.Model):
    """A patient's treatment course under one protocol version; its content lives in versions."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="plans"
    )
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status__in=PlanStatus.values), name="plan_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk} ({self.protocol_version})"

    def current_version(self) -> PlanVersion | None:
        """The newest signed version: what the clinic acts on."""
        return self.versions.filter(signed_at__isnull=False).order_by("-number").first()


class AmendmentKind(models.TextChoices):
    INITIAL = "initial", "Initial plan"
    TITRATION = "titration", "Titration"
    PHASE_CHANGE = "phase_change", "Phase change"
    BOOSTER = "booster", "Booster"
    PAUSE = "pause", "Pause"
    RESUME = "resume", "Resume"
    STOP = "stop", "Stop"


class PlanVersion(models.Model):
    """One version of a plan. A draft may be edited; once signed it is frozen."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=AmendmentKind.choices)
    reason = models.TextField(blank=True)
    phase = models.CharField(max_length=64)
    start_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    weight_measured_on = models.DateField()
    weight_was_stale = models.BooleanField(default=False)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1)
    min_mg = models.DecimalField(max_digits=7, decimal_places=1)
    max_mg = models.DecimalField(max_digits=7, decimal_places=1)
    soft_limit = models.TextField(blank=True, help_text="The soft limit this dose passes, if any")
    soft_limit_reason = models.TextField(blank=True)
    arithmetic = models.JSONField(default=list)
    volume_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    rate_mg_per_min = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    rate_mg_per_h = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    devices = models.PositiveIntegerField(null=True, blank=True)
    readiness = models.JSONField(default=list, help_text="Consent and eligibility as checked")
    stale_weight_acknowledged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the signer confirmed signing with a stale weight"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar = ["-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique"),
            models.UniqueConstraint(
                fields=["plan"], condition=Q(signed_at__isnull=True), name="one_draft_per_plan"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AmendmentKind.values), name="plan_version_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(signed_at__isnull=True) & Q(signed_by__isnull=True) & Q(content_hash="")
                )
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False) & ~Q(content_hash="")),
                name="plan_version_signature_complete",
            ),
            models.CheckConstraint(
                condition=Q(min_mg__lte=models.F("dose_mg"), dose_mg__lte=models.F("max_mg")),
                name="plan_dose_within_limits",
            ),
            models.CheckConstraint(
                condition=Q(soft_limit="") | ~Q(soft_limit_reason=""),
                name="plan_soft_limit_needs_reason",
            ),
            models.CheckConstraint(
                condition=Q(kind="initial") | ~Q(reason=""), name="plan_amendment_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} version {self.number}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class PlannedDose(models.Model):
    """One dose a plan version intends: when, in which phase, how much."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="planned_doses")
    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="doses")
    number = models.PositiveIntegerField()
    phase = models.CharField(max_length=64)
    planned_on = models.DateField()
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1)

    class Meta:
        ordering: ClassVar = ["planned_on", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "number"], name="planned_dose_unique"),
            models.CheckConstraint(condition=Q(dose_mg__gt=0), name="planned_dose_positive"),
        ]

    def __str__(self) -> str:
        return f"Dose {self.number}: {self.dose_mg} mg on {self.planned_on}"


class EligibilityReview(models.Model):
    """A prescriber's written reason to plan treatment on a signed "needs review" decision."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    version = models.OneToOneField(
        PlanVersion, on_delete=models.PROTECT, related_name="eligibility_review"
    )
    reason = models.TextField(max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(reason=""), name="eligibility_review_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Eligibility review for plan version {self.version_id}"
