"""Charges, fees, invoices and payments: the money side of a session.

Money is integer cents with an ISO 4217 currency. Posted charge lines, received payments,
refunds and payer postings are append-only, refused by the database itself (migration 0005):
a mistake is put right with a reversal line (negative units and amount that points at the
line it reverses) plus a new line, never by changing a row. Writes go through
`katclinic.billing.services`, each in one transaction with its audit event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient

USER = settings.AUTH_USER_MODEL


class CodeSystem(models.TextChoices):
    HCPCS = "hcpcs", "HCPCS Level II"
    CPT = "cpt", "CPT"
    MODIFIER = "modifier", "Modifier"
    ICD10CM = "icd10cm", "ICD-10-CM"


class BillingCodeQuerySet(models.QuerySet["BillingCode"]):
    def valid_on(self, day: Any) -> BillingCodeQuerySet:
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day))


class BillingCode(models.Model):
    """One code of a code set for the dates it is valid, with the project's own short wording.

    `service` names what the code bills (e.g. the esketamine drug), so the code valid on a date
    of service is found by service and date: S0013 until 31 December 2025, J0013 after.
    """

    system = models.CharField(max_length=10, choices=CodeSystem.choices)
    code = models.CharField(max_length=10)
    service = models.CharField(max_length=60, blank=True, db_index=True)
    short_description = models.CharField(max_length=200)
    unit = models.CharField(max_length=60, blank=True, help_text="What one unit is")
    unit_mg = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="mg of drug per unit"
    )
    unit_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_add_on = models.BooleanField(default=False)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    source = models.TextField()
    verified = models.BooleanField(default=True)

    objects = BillingCodeQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["system", "code", "valid_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["system", "code", "valid_from"], name="billing_code_once_per_start"
            ),
            models.CheckConstraint(
                condition=Q(system__in=CodeSystem.values), name="billing_code_system_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="billing_code_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.short_description}"


class FeeSchedule(models.Model):
    """A clinic's price list from a date: self-pay when `payer` is blank, else a contract."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    payer = models.CharField(max_length=120, blank=True, help_text="Blank for self-pay")
    currency = models.CharField(max_length=3, default="USD")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["clinic", "payer", "-valid_from"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="fee_schedule_dates_ordered",
            ),
            # Three capital letters (ISO 4217), written without REGEXP, which SQLite lacks
            # outside Django's own connections (backups check integrity on a plain one).
            models.CheckConstraint(
                condition=Q(Exact(Length("currency"), 3)) & Q(currency=Upper("currency")),
                name="fee_schedule_currency_iso",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} from {self.valid_from}"


class Fee(models.Model):
    """The price of one unit of a code under one schedule."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    schedule = models.ForeignKey(FeeSchedule, on_delete=models.PROTECT, related_name="fees")
    code = models.ForeignKey(BillingCode, on_delete=models.PROTECT, related_name="+")
    amount_cents = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["schedule", "code"], name="one_fee_per_code")
        ]

    def __str__(self) -> str:
        return f"{self.code.code}: {self.amount_cents} cents"


class ChargeStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    POSTED = "posted", "Posted"


class ChargeQuerySet(models.QuerySet["Charge"]):
    def for_clinic(self, clinic: Clinic) -> ChargeQuerySet:
        return self.filter(clinic=clinic)

    def posted(self) -> ChargeQuerySet:
        return self.filter(status=ChargeStatus.POSTED)


class Charge(models.Model):
    """The charges of one date of service, normally one dosing session."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="charges")
    session = models.OneToOneField(
        "dosing.DosingSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="charge",
    )
    session_kind = models.CharField(max_length=40, blank=True, help_text="e.g. the route")
    date_of_service = models.DateField()
    rendering_clinician = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    place_of_service = models.CharField(max_length=2, default="11")
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.PROPOSED
    )
    notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)

    objects = ChargeQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-date_of_service", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status__in=ChargeStatus.values), name="charge_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="posted") | Q(posted_at__isnull=False),
                name="charge_posted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Charge {self.pk} on {self.date_of_service}"


class ChargeLine(models.Model):
    """One billed code. `max_units` is what the record supports (mg given, hours monitored);
    a posted line never changes: a reversal line (negative units) points at it instead."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="lines")
    code = models.ForeignKey(BillingCode, on_delete=models.PROTECT, related_name="+")
    modifiers = models.CharField(max_length=20, blank=True)
    units = models.IntegerField()
    max_units = models.PositiveIntegerField(help_text="Units the clinical record supports")
    unit_price_cents = models.PositiveIntegerField()
    amount_cents = models.IntegerField()
    diagnosis_codes = models.JSONField(default=list, blank=True)
    basis = models.TextField(blank=True, help_text="What in the record this line comes from")
    status = models.CharField(
        max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.PROPOSED
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reason = models.TextField(blank=True, help_text="Why staff adjusted, added or reversed it")
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["charge", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status__in=ChargeStatus.values), name="charge_line_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount_cents=models.F("units") * models.F("unit_price_cents")),
                name="charge_line_amount_is_units_times_price",
            ),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True, units__gt=0)
                | Q(reverses__isnull=False, units__lt=0),
                name="charge_line_reversal_sign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code.code} x{self.units}"


class Invoice(models.Model):
    """A self-pay statement of one posted charge, numbered per clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    charge = models.OneToOneField(Charge, on_delete=models.PROTECT, related_name="invoice")
    number = models.CharField(max_length=20)
    currency = models.CharField(max_length=3, default="USD")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-issued_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "number"], name="invoice_number_per_clinic")
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Card (online checkout)"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the patient"
    COMPLETED = "completed", "Received"
    FAILED = "failed", "Not completed"


class PaymentQuerySet(models.QuerySet["Payment"]):
    def for_clinic(self, clinic: Clinic) -> PaymentQuerySet:
        return self.filter(clinic=clinic)

    def received(self) -> PaymentQuerySet:
        return self.filter(status=PaymentStatus.COMPLETED)


class Payment(models.Model):
    """Money from a patient: by hand (cash, cheque) or through a hosted checkout.

    For a checkout only the provider's own reference is kept, never card data. A deposit is a
    payment made before there is an invoice to put it against.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    is_deposit = models.BooleanField(default=False)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.COMPLETED
    )
    reference = models.CharField(max_length=60, blank=True, help_text="Cheque number")
    provider = models.CharField(max_length=20, blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)
    checkout_url = models.URLField(max_length=1000, blank=True)
    emailed_to = models.EmailField(blank=True)
    received_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_positive"),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="payment_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="payment_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}: {self.amount_cents} cents"


class Refund(models.Model):
    """Money given back against one received payment; the total never exceeds the payment."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField()
    reason = models.TextField()
    provider_reference = models.CharField(max_length=255, blank=True)
    refunded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    refunded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-refunded_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="refund_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk}: {self.amount_cents} cents"


class PayerPostingKind(models.TextChoices):
    PAID = "paid", "Paid by the payer"
    WRITTEN_OFF = "written_off", "Adjusted off by the payer's contract"


class PayerPosting(models.Model):
    """What a payer's remittance settled on a posted charge: its payment, or an adjustment the
    clinic writes off (every adjustment group except patient responsibility). What is left of
    the charge is the patient's to pay. Append-only: a payer's take-back is a negative row."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="payer_postings")
    kind = models.CharField(max_length=12, choices=PayerPostingKind.choices)
    amount_cents = models.IntegerField()
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=120, help_text="The remittance and claim it comes from")
    posted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["posted_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="payer_posting_not_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=PayerPostingKind.values), name="payer_posting_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount_cents} cents"
