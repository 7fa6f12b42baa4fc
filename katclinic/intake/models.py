"""Intake: consultation requests, suitability screenings with signed decisions, consent.

Signed things never change. A signed screening, its trial rows, its decision, every
consent document version, signature and withdrawal are frozen by database triggers
(migration 0002) as well as by the services; a correction is a new version that
points at the one it replaces.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.intake.eligibility import ADHERENCE_LEVELS, ROUTES
from katclinic.patients.models import Patient

ROUTE_CHOICES = [
    ("iv", "Intravenous racemic ketamine"),
    ("intranasal", "Intranasal esketamine (Spravato)"),
    ("sublingual", "Sublingual racemic ketamine"),
    ("oral", "Oral racemic ketamine"),
    ("im", "Intramuscular racemic ketamine"),
    ("sc", "Subcutaneous racemic ketamine"),
]


class Suggestion(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    NEEDS_REVIEW = "needs_review", "Needs review"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"


# --- Consultation requests -------------------------------------------------------


class RequestState(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    BOOKED = "booked", "Consultation booked"
    DECLINED = "declined", "Declined"
    CONVERTED = "converted", "Converted to patient"


class ConsultationRequestQuerySet(models.QuerySet["ConsultationRequest"]):
    def for_clinic(self, clinic: Clinic) -> ConsultationRequestQuerySet:
        return self.filter(clinic=clinic)

    def inbox_order(self) -> ConsultationRequestQuerySet:
        """Urgent first, then open before closed, then oldest first within each."""
        closed = Q(state__in=[RequestState.DECLINED, RequestState.CONVERTED])
        return self.alias(
            is_closed=models.ExpressionWrapper(closed, models.BooleanField())
        ).order_by("is_closed", "-urgent", "submitted_at", "pk")


class ConsultationRequest(models.Model):
    """A visitor's request for a consultation, from the clinic's public page."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_times = models.CharField(max_length=200, blank=True)
    reason = models.TextField(max_length=1000, blank=True)
    consent_to_contact = models.BooleanField()
    # The language the request was made in: the patient record starts in it.
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    phq9_answers = models.JSONField(null=True, blank=True)
    phq9_total = models.PositiveSmallIntegerField(null=True, blank=True)
    phq9_band = models.CharField(max_length=30, blank=True)
    phq9_item9 = models.PositiveSmallIntegerField(null=True, blank=True)
    urgent = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.NEW)
    submitted_at = models.DateTimeField(default=timezone.now)
    # Keyed hashes (not the raw values) of the sender's address and contact, kept only
    # to rate-limit the public form across app servers.
    source_key = models.CharField(max_length=64, db_index=True)
    email_key = models.CharField(max_length=64, blank=True, db_index=True)
    phone_key = models.CharField(max_length=64, blank=True, db_index=True)
    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ConsultationRequestQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""), name="request_has_contact"
            ),
            models.CheckConstraint(condition=Q(consent_to_contact=True), name="request_consented"),
            models.CheckConstraint(
                condition=Q(state__in=RequestState.values), name="request_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state="converted", patient__isnull=False)
                | (~Q(state="converted") & Q(patient__isnull=True)),
                name="request_converted_has_patient",
            ),
            models.CheckConstraint(
                condition=Q(phq9_item9__isnull=True) | Q(phq9_item9__lte=3),
                name="request_phq9_item9_range",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["clinic", "state", "-urgent", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state not in (RequestState.DECLINED, RequestState.CONVERTED)


class RequestEvent(models.Model):
    """One step in a request's history: who moved it to which state, and when."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(
        ConsultationRequest, on_delete=models.PROTECT, related_name="events"
    )
    from_state = models.CharField(max_length=12, choices=RequestState.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=RequestState.choices)
    note = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state or 'submitted'} -> {self.to_state}"


# --- Suitability screening ---------------------------------------------------------


class ScreeningQuerySet(models.QuerySet["Screening"]):
    def for_clinic(self, clinic: Clinic) -> ScreeningQuerySet:
        return self.filter(clinic=clinic)

    def current(self) -> ScreeningQuerySet:
        """Versions that no later version replaces."""
        return self.filter(replaced_by__isnull=True)


class Screening(models.Model):
    """One version of a patient's suitability assessment for one route.

    `facts` holds the answers keyed by `eligibility.FACT_KINDS` flags (true, false
    or null for unanswered); concomitant-medication flags are copied from the
    patient's medication list when the screening is saved.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    route = models.CharField(max_length=12, choices=ROUTE_CHOICES)
    diagnosis = models.CharField(max_length=200)
    episode_started_on = models.DateField("current episode began", null=True, blank=True)
    episode_notes = models.CharField("current episode", max_length=500, blank=True)
    facts = models.JSONField(default=dict)
    baseline_systolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_diastolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_heart_rate_bpm = models.PositiveSmallIntegerField(null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    notes = models.TextField(blank=True, max_length=4000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["patient", "route", "version"], name="screening_version_unique"
            ),
            models.CheckConstraint(condition=Q(route__in=ROUTES), name="screening_route_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="screening_version_positive"),
            models.CheckConstraint(
                condition=Q(baseline_systolic_mmhg__isnull=True)
                | Q(baseline_systolic_mmhg__range=(50, 300)),
                name="screening_systolic_plausible",
            ),
            models.CheckConstraint(
                condition=Q(baseline_diastolic_mmhg__isnull=True)
                | Q(baseline_diastolic_mmhg__range=(20, 200)),
                name="screening_diastolic_plausible",
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__range=(50, 250)),
                name="screening_height_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"Screening v{self.version} ({self.route}) for {self.patient_id}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def bmi(self) -> Decimal | None:
        """Body-mass index from the weight and height on this screening."""
        if self.weight_kg is None or not self.height_cm:
            return None
        metres = Decimal(self.height_cm) / 100
        return (Decimal(self.weight_kg) / (metres * metres)).quantize(Decimal("0.1"))


class AntidepressantTrial(models.Model):
    """One antidepressant trial in the treatment history (one row per drug and trial)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="trials")
    drug = models.CharField(max_length=100)
    max_daily_dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    adequate_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    weeks_at_dose = models.DecimalField(max_digits=5, decimal_places=1)
    adherence = models.CharField(
        max_length=8, choices=[(a, a.capitalize()) for a in ADHERENCE_LEVELS]
    )
    improvement_percent = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    current_episode = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(max_daily_dose_mg__gte=0), name="trial_dose_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(adequate_dose_mg__isnull=True) | Q(adequate_dose_mg__gte=0),
                name="trial_adequate_dose_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(weeks_at_dose__gte=0), name="trial_weeks_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(adherence__in=ADHERENCE_LEVELS), name="trial_adherence_valid"
            ),
            models.CheckConstraint(
                condition=Q(improvement_percent__isnull=True) | Q(improvement_percent__lte=100),
                name="trial_improvement_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug} {self.max_daily_dose_mg} mg"


class EligibilityDecision(models.Model):
    """The signed decision on one screening: the suggestion, what the prescriber
    decided (which may differ), why, who and when, and a hash of all of it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="decision")
    route = models.CharField(max_length=12, choices=ROUTE_CHOICES)
    suggestion = models.CharField(max_length=12, choices=Suggestion.choices)
    reasons = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    trd_met = models.BooleanField()
    trd_explanation = models.TextField()
    thresholds = models.JSONField(default=dict)
    decision = models.CharField(max_length=12, choices=Suggestion.choices)
    rationale = models.TextField(max_length=4000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(decision__in=Suggestion.values), name="decision_valid"
            ),
            models.CheckConstraint(
                condition=Q(suggestion__in=Suggestion.values), name="suggestion_valid"
            ),
            models.CheckConstraint(condition=~Q(rationale=""), name="decision_has_rationale"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.route})"

    @property
    def differs(self) -> bool:
        return self.decision != self.suggestion


# --- Consent -------------------------------------------------------------------------


class ConsentScope(models.TextChoices):
    PROGRAM = "program", "Treatment program"
    ROUTE = "route", "Route-specific"
    RESEARCH = "research", "Research use of de-identified data"


class ConsentDocumentQuerySet(models.QuerySet["ConsentDocument"]):
    def for_clinic(self, clinic: Clinic) -> ConsentDocumentQuerySet:
        return self.filter(clinic=clinic)

    def in_effect(self, on: object = None) -> ConsentDocumentQuerySet:
        return self.filter(effective_on__lte=on or timezone.localdate())


class ConsentDocument(models.Model):
    """One version of a consent text; a changed text is a new row with a higher version."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=10, choices=ConsentScope.choices)
    route = models.CharField(max_length=12, choices=ROUTE_CHOICES, blank=True)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=50000)
    version = models.PositiveIntegerField()
    effective_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ConsentDocumentQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["scope", "route", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["clinic", "scope", "route", "version"], name="consent_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=ConsentScope.values), name="consent_scope_valid"
            ),
            models.CheckConstraint(
                condition=(Q(scope="route") & Q(route__in=ROUTES))
                | (~Q(scope="route") & Q(route="")),
                name="consent_route_only_for_route_scope",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="consent_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def signed_text(self) -> str:
        """The exact text a signature covers: title, version line and body."""
        return f"{self.title}\nVersion {self.version}, effective {self.effective_on.isoformat()}\n\n{self.body}"

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.signed_text.encode("utf-8")).hexdigest()

    @property
    def series(self) -> str:
        """Which consent this is a version of, e.g. "program" or "route:iv"."""
        return f"route:{self.route}" if self.scope == ConsentScope.ROUTE else str(self.scope)


class SignatureChannel(models.TextChoices):
    PORTAL = "portal", "Patient portal"
    CLINIC_DEVICE = "clinic_device", "Clinic device, staff present"


class ConsentSignature(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="consent_signatures"
    )
    document = models.ForeignKey(
        ConsentDocument, on_delete=models.PROTECT, related_name="signatures"
    )
    typed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    document_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=SignatureChannel.choices)
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-signed_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(channel__in=SignatureChannel.values), name="signature_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel="portal") | Q(witness__isnull=False),
                name="clinic_device_signature_has_witness",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.typed_name} signed {self.document}"


class ConsentWithdrawal(models.Model):
    """The patient withdrew the consent given by one signature."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    signature = models.OneToOneField(
        ConsentSignature, on_delete=models.PROTECT, related_name="withdrawal"
    )
    reason = models.CharField(max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"withdrawal of {self.signature_id}"
