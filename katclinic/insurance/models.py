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


# ---- claims ------------------------------------------------------------------------------


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft: needs fixing"
    READY = "ready", "Ready to send"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted by the payer"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"


class ClaimQuerySet(models.QuerySet["Claim"]):
    def for_clinic(self, clinic: Clinic) -> ClaimQuerySet:
        return self.filter(clinic=clinic)


class Claim(models.Model):
    """A professional claim built from one posted charge. Its state changes are appended as
    events; its lines copy the posted charge lines and never change."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="claims")
    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT, related_name="claims")
    authorization = models.ForeignKey(
        PriorAuthorization, on_delete=models.PROTECT, null=True, blank=True, related_name="claims"
    )
    number = models.PositiveIntegerField()
    control_number = models.CharField("claim number", max_length=20)
    date_of_service = models.DateField()
    place_of_service = models.CharField(max_length=2, default="11")
    diagnosis_codes = models.JSONField(default=list)
    total_cents = models.IntegerField()
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=ClaimStatus.choices)
    problems = models.JSONField(default=list, blank=True)
    file_text = models.TextField(blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    paid_cents = models.IntegerField(default=0)
    patient_responsibility_cents = models.IntegerField(default=0)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "number"], name="claim_number_per_clinic"),
            models.CheckConstraint(
                condition=Q(status__in=ClaimStatus.values), name="claim_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.control_number}"


class ClaimLine(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    charge_line = models.ForeignKey(
        "billing.ChargeLine", on_delete=models.PROTECT, related_name="claim_lines"
    )
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=10)
    modifiers = models.CharField(max_length=20, blank=True)
    units = models.IntegerField()
    charge_cents = models.IntegerField()
    service_date = models.DateField()
    diagnosis_pointers = models.JSONField(default=list)

    class Meta:
        ordering = ["claim", "position"]

    def __str__(self) -> str:
        return f"{self.code} x{self.units}"

    @property
    def modifier_list(self) -> list[str]:
        return [m for m in self.modifiers.replace(",", " ").split() if m]


class ClaimEvent(models.Model):
    """One state change of a claim, appended and never changed."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, choices=ClaimStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} -> {self.to_status}"


class Remittance(models.Model):
    """One imported 835 file, kept whole."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    trace_number = models.CharField(max_length=50)
    payer_name = models.CharField(max_length=60, blank=True)
    payer_id = models.CharField(max_length=80, blank=True)
    payment_cents = models.IntegerField()
    paid_on = models.DateField(null=True, blank=True)
    file_text = models.TextField()
    imported_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "trace_number"], name="remittance_trace")
        ]

    def __str__(self) -> str:
        return f"Remittance {self.trace_number}"


class RemittanceClaim(models.Model):
    """One claim payment of a remittance; `claim` is empty while no claim of ours matches."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    remittance = models.ForeignKey(Remittance, on_delete=models.PROTECT, related_name="claims")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    control_number = models.CharField(max_length=38)
    status_code = models.CharField(max_length=2)
    status_label = models.CharField(max_length=80)
    charge_cents = models.IntegerField()
    paid_cents = models.IntegerField()
    patient_responsibility_cents = models.IntegerField()
    payer_claim_number = models.CharField(max_length=50, blank=True)
    patient_name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Payment for {self.control_number}"


class LinePayment(models.Model):
    """What the payer paid on one claim line, with its adjustments."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, related_name="lines"
    )
    claim_line = models.ForeignKey(
        ClaimLine, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    code = models.CharField(max_length=10)
    charge_cents = models.IntegerField()
    paid_cents = models.IntegerField()
    patient_responsibility_cents = models.IntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.code}: {self.paid_cents}"


class Adjustment(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, related_name="adjustments"
    )
    line_payment = models.ForeignKey(
        LinePayment, on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments"
    )
    group = models.CharField(max_length=2)
    reason = models.CharField(max_length=5)
    amount_cents = models.IntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.group}-{self.reason} {self.amount_cents}"
