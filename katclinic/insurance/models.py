"""Coverage, eligibility checks and prior authorizations of a patient.

A coverage is the patient's insurance as the front desk records it. An eligibility check keeps
the 270 file sent and the 271 answer received, read into words. A prior authorization records
what the payer approved; the units used against it are appended, never edited.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum

from katclinic.clinics.models import Clinic
from katclinic.insurance import rules
from katclinic.patients.models import Patient

USER = settings.AUTH_USER_MODEL


class Priority(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class Relationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class SubscriberSex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class CoverageQuerySet(models.QuerySet["Coverage"]):
    def for_clinic(self, clinic: Clinic) -> CoverageQuerySet:
        return self.filter(clinic=clinic)

    def valid_on(self, on: date) -> CoverageQuerySet:
        return self.filter(valid_from__lte=on).filter(Q(valid_to=None) | Q(valid_to__gte=on))


class Coverage(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer_name = models.CharField(max_length=60)
    payer_id = models.CharField("payer id", max_length=80)
    plan_name = models.CharField(max_length=100, blank=True)
    member_id = models.CharField("member id", max_length=80)
    group_number = models.CharField(max_length=50, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.PRIMARY)
    relationship = models.CharField(
        "patient's relationship to the subscriber",
        max_length=10,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    subscriber_first_name = models.CharField(max_length=35)
    subscriber_last_name = models.CharField(max_length=60)
    subscriber_birth_date = models.DateField()
    subscriber_sex = models.CharField(
        max_length=1, choices=SubscriberSex.choices, default=SubscriberSex.UNKNOWN
    )
    street = models.CharField(max_length=55)
    city = models.CharField(max_length=30)
    state = models.CharField(max_length=2)
    postal_code = models.CharField("ZIP code", max_length=10)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = CoverageQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "-valid_from", "pk"]
        indexes = [models.Index(fields=["clinic", "patient"])]

    def __str__(self) -> str:
        return f"{self.payer_name} ({self.get_priority_display().lower()})"

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class EligibilityStatus(models.TextChoices):
    SENT = "sent", "Waiting for the payer's answer"
    ACTIVE = "active", "Coverage active"
    INACTIVE = "inactive", "Coverage inactive"
    REJECTED = "rejected", "Payer could not answer"
    UNKNOWN = "unknown", "Answer names no status"


class EligibilityCheck(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="checks")
    trace_number = models.CharField(max_length=30)
    service_date = models.DateField()
    request_file = models.TextField()
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=EligibilityStatus.choices, default=EligibilityStatus.SENT
    )
    answer_file = models.TextField(blank=True)
    summary = models.CharField(max_length=300, blank=True)
    plan = models.CharField(max_length=100, blank=True)
    benefits = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "trace_number"], name="eligibility_trace")
        ]

    def __str__(self) -> str:
        return f"Eligibility check {self.trace_number}"


class AuthStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class AuthorizationQuerySet(models.QuerySet["PriorAuthorization"]):
    def for_clinic(self, clinic: Clinic) -> AuthorizationQuerySet:
        return self.filter(clinic=clinic)

    def with_used(self) -> AuthorizationQuerySet:
        return self.annotate(used_total=Sum("uses__units"))


class PriorAuthorization(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="prior_authorizations"
    )
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="authorizations")
    number = models.CharField("authorization number", max_length=50, blank=True)
    codes = models.CharField("billing codes covered", max_length=100)
    approved_units = models.PositiveIntegerField(default=0)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AuthStatus.choices, default=AuthStatus.REQUESTED
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = AuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_to", "-pk"]
        indexes = [models.Index(fields=["clinic", "status"])]

    def __str__(self) -> str:
        return f"Prior authorization {self.number or '(number pending)'}"

    @property
    def code_list(self) -> tuple[str, ...]:
        return rules.parse_codes(self.codes)

    @property
    def used_units(self) -> int:
        total = getattr(self, "used_total", None)
        if total is None:
            total = self.uses.aggregate(total=Sum("units"))["total"]
        return int(total or 0)

    def as_rule(self) -> rules.Authorization:
        return rules.Authorization(
            status=self.status,
            codes=self.code_list,
            approved_units=self.approved_units,
            used_units=self.used_units,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
        )


class AuthorizationUse(models.Model):
    """Units used against an authorization: appended, never changed (a correction is a
    negative row with its reason)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    authorization = models.ForeignKey(
        PriorAuthorization, on_delete=models.PROTECT, related_name="uses"
    )
    used_on = models.DateField()
    units = models.IntegerField()
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["used_on", "pk"]

    def __str__(self) -> str:
        return f"{self.units} units on {self.used_on}"


class DocumentKind(models.TextChoices):
    REQUEST = "request", "Request form"
    APPROVAL = "approval", "Approval letter"
    DENIAL = "denial", "Denial letter"
    CLINICAL = "clinical", "Supporting clinical notes"
    OTHER = "other", "Other"


def _document_path(instance: AuthorizationDocument, filename: str) -> str:
    return f"insurance/{instance.clinic_id}/authorizations/{instance.authorization_id}/{filename}"


class AuthorizationDocument(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    authorization = models.ForeignKey(
        PriorAuthorization, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=10, choices=DocumentKind.choices)
    file = models.FileField(upload_to=_document_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"
