"""Measurement-based care: instruments, responses and their scores, schedules,
invitations (single-use links) and suicidality safety alerts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient


class Instrument(models.Model):
    """One version of an instrument definition (scoring.InstrumentDefinition as JSON).

    Rows are never changed in place once written: a new wording or a corrected
    threshold is a new row. ``clinic`` is set for a clinic's licensed wording.
    """

    key = models.CharField(max_length=40)
    version = models.CharField(max_length=40)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    licence = models.TextField()
    definition = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["key", "version"], condition=Q(clinic__isnull=True), name="instrument_once"
            ),
            models.UniqueConstraint(
                fields=["key", "version", "clinic"],
                condition=Q(clinic__isnull=False),
                name="instrument_once_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.version}"


class Source(models.TextChoices):
    PORTAL = "portal", "Patient portal"
    LINK = "link", "Emailed link"
    KIOSK = "kiosk", "Clinic tablet"
    STAFF = "staff", "Entered by staff"
    API = "api", "API"


class ResponseQuerySet(models.QuerySet["Response"]):
    def for_clinic(self, clinic: Clinic) -> ResponseQuerySet:
        return self.filter(clinic=clinic)

    def current(self) -> ResponseQuerySet:
        """Responses not replaced by a correction."""
        return self.filter(is_current=True)


class Response(models.Model):
    """A submitted set of answers and the score computed from them at submission.

    The score columns are stored, never recomputed; a correction is a new row
    pointing at the one it replaces, which stops being current.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="responses")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    instrument_key = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=40)
    answers = models.JSONField()
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    complete = models.BooleanField()
    total = models.SmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=60, blank=True)
    flags = models.JSONField(default=list, blank=True)
    risk = models.CharField(max_length=20, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    flagged = models.BooleanField(default=False)
    is_current = models.BooleanField(default=True)
    corrects = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrected_by"
    )
    correction_reason = models.TextField(blank=True)
    language = models.CharField(
        max_length=10,
        blank=True,
        default="",
        db_default="",
        help_text="The language the questions were read in.",
    )
    translation_version = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text="The version of the instrument's translation read; empty for the original.",
    )

    objects = ResponseQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(source__in=Source.values), name="response_source"),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__gte=0), name="response_total_positive"
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(correction_reason=""),
                name="response_correction_has_reason",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["patient", "instrument_key", "submitted_at"]),
            models.Index(fields=["clinic", "instrument_key", "submitted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_key} {self.total} for patient {self.patient_id}"


class CourseQuerySet(models.QuerySet["Course"]):
    def open(self) -> CourseQuerySet:
        return self.filter(ended_on__isnull=True)


class Course(models.Model):
    """A treatment course, the frame for baseline-to-latest change."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    # The primary outcome scale; its first response in the course becomes the baseline.
    instrument_key = models.CharField(max_length=40, default="phq9")
    baseline = models.ForeignKey(
        Response, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = CourseQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="course_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["patient"], condition=Q(ended_on__isnull=True), name="one_open_course"
            ),
        ]

    def __str__(self) -> str:
        return f"Course from {self.started_on} for patient {self.patient_id}"


class Rule(models.TextChoices):
    BASELINE = "baseline", "At baseline"
    PRE_SESSION = "pre_session", "Before each dosing session"
    POST_24H = "post_24h", "24 hours after each session"
    POST_7D = "post_7d", "7 days after each session"
    WEEKLY_INDUCTION = "weekly_induction", "Weekly during induction"
    MONTHLY_MAINTENANCE = "monthly_maintenance", "Monthly in maintenance"


SESSION_RULES = (Rule.PRE_SESSION, Rule.POST_24H, Rule.POST_7D)


class MeasurementSchedule(models.Model):
    """Send ``instrument_key`` to a patient by ``rule``, relative to their treatment."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="schedules")
    instrument_key = models.CharField(max_length=40)
    rule = models.CharField(max_length=30, choices=Rule.choices)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="schedule_rule"),
            models.UniqueConstraint(
                fields=["patient", "instrument_key", "rule"],
                condition=Q(active=True),
                name="one_active_schedule_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_key} {self.rule} for patient {self.patient_id}"


class Channel(models.TextChoices):
    EMAIL = "email", "Emailed link"
    PORTAL = "portal", "Patient portal"
    KIOSK = "kiosk", "Clinic tablet"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open_at(self, now: object) -> InvitationQuerySet:
        """Unused, due and not expired at ``now``."""
        return self.filter(used_at__isnull=True, due_at__lte=now, expires_at__gt=now)


class Invitation(models.Model):
    """A request to answer one instrument; usable once, until ``expires_at``.

    Only a hash of the emailed token is stored; the token is made when sent.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invitations")
    instrument_key = models.CharField(max_length=40)
    schedule = models.ForeignKey(
        MeasurementSchedule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.CharField(max_length=120, blank=True)
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        Response, on_delete=models.PROTECT, null=True, blank=True, related_name="invitation"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("due_at")), name="invitation_expires_after_due"
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(response__isnull=False),
                name="invitation_used_with_response",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="invitation_channel"
            ),
            models.UniqueConstraint(
                fields=["schedule", "due_at"],
                condition=Q(schedule__isnull=False),
                name="one_invitation_per_schedule_time",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["patient", "used_at", "due_at"])]

    def __str__(self) -> str:
        return (
            f"{self.instrument_key} due {self.due_at:%Y-%m-%d %H:%M} for patient {self.patient_id}"
        )


class AlertKind(models.TextChoices):
    PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9 above 0"
    CSSRS_HIGH = "cssrs_high", "High-risk C-SSRS screen"
    QIDS_ITEM12 = "qids_item12", "QIDS-SR16 item 12 (thoughts of death or suicide)"
    CRISIS_TEXT = "crisis_text", "Crisis words in a free-text answer"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


class CloseAction(models.TextChoices):
    CSSRS_DONE = "cssrs_done", "C-SSRS completed"
    SAFETY_PLAN = "safety_plan", "Safety plan made or reviewed"
    PATIENT_CONTACTED = "patient_contacted", "Patient contacted"
    ESCALATED = "escalated", "Escalated to another clinician"
    EMERGENCY_SERVICES = "emergency_services", "Emergency services called"


class SafetyAlertQuerySet(models.QuerySet["SafetyAlert"]):
    def for_clinic(self, clinic: Clinic) -> SafetyAlertQuerySet:
        return self.filter(clinic=clinic)

    def unhandled(self) -> SafetyAlertQuerySet:
        return self.exclude(state=AlertState.CLOSED)

    def open_alerts(self, patient: Patient) -> SafetyAlertQuerySet:
        """Alerts of ``patient`` not yet closed: the dosing gate stops on any of these."""
        return self.filter(patient=patient).unhandled()


class SafetyAlert(models.Model):
    """A suicidality concern raised by a response; closed only with an action and a note."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safety_alerts")
    response = models.ForeignKey(
        Response, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    reason = models.TextField()
    state = models.CharField(max_length=20, choices=AlertState.choices, default=AlertState.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.TextField(blank=True)
    after_hours_rule = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=30, choices=CloseAction.choices, blank=True)
    note = models.TextField(blank=True)

    objects = SafetyAlertQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alert_kind"),
            models.CheckConstraint(
                condition=Q(state="open", acknowledged_at__isnull=True, closed_at__isnull=True)
                | Q(state="acknowledged", acknowledged_at__isnull=False, closed_at__isnull=True)
                | Q(state="closed", acknowledged_at__isnull=False, closed_at__isnull=False),
                name="alert_state_matches_times",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | (Q(action__in=CloseAction.values) & ~Q(note="")),
                name="alert_closed_with_action_and_note",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["clinic", "state", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id} ({self.state})"


class InstrumentTranslation(models.Model):
    """One version of an instrument's wording in another language, as published.

    Validated instruments are shown only in their official translation, word for word:
    a translation is loaded from its publisher's text with its source, never written here.
    Rows are never changed: a corrected text is a new version. ``clinic`` is empty for the
    translations shipped with KAT Clinic and set for one a clinic loaded. Only the words
    change; items, answer values, scoring and alerts are those of the instrument.
    """

    key = models.CharField(max_length=40)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    version = models.CharField(max_length=40)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    source = models.TextField()
    # {"title", "description", "items": {link_id: text}, "answers": {link_id: {value: text}}}
    texts = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["key", "language", "version"],
                condition=Q(clinic__isnull=True),
                name="instrument_translation_once",
            ),
            models.UniqueConstraint(
                fields=["key", "language", "version", "clinic"],
                condition=Q(clinic__isnull=False),
                name="instrument_translation_once_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.language} {self.version}"
