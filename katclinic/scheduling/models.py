"""Appointments and what they occupy: staff time, rooms and treatment chairs.

A room and a chair each hold one appointment at a time. The service that books checks every
overlap inside a transaction that locks the resource rows; the database adds what it can
portably guarantee: no two live appointments start at the same moment in one chair, room or
staff calendar.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlannedDose


class Room(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "name"], name="room_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Chair(models.Model):
    """A treatment chair (or bed) for dosing sessions, in a room."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="chairs")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="chairs")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    # What the chair is equipped for; each flag covers the routes in CHAIR_ROUTES.
    supports_iv = models.BooleanField("IV infusion", default=True)
    supports_intranasal = models.BooleanField("Intranasal", default=True)
    supports_oral = models.BooleanField("Oral or sublingual", default=True)
    supports_im = models.BooleanField("Intramuscular or subcutaneous injection", default=True)

    class Meta:
        ordering: ClassVar = ["room__name", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "name"], name="chair_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.room.name} / {self.name}"

    def supports(self, route: str) -> bool:
        """Whether a dosing session by `route` (a protocol's route code) can run here."""
        field = CHAIR_ROUTES.get(route)
        return field is None or bool(getattr(self, field))

    @property
    def supported_labels(self) -> list[str]:
        return [label for field, label in CHAIR_EQUIPMENT.items() if getattr(self, field)]


CHAIR_EQUIPMENT = {
    "supports_iv": "IV infusion",
    "supports_intranasal": "Intranasal",
    "supports_oral": "Oral or sublingual",
    "supports_im": "Intramuscular or subcutaneous injection",
}
# Which chair flag a protocol route needs.
CHAIR_ROUTES = {
    "iv": "supports_iv",
    "intranasal": "supports_intranasal",
    "oral": "supports_oral",
    "sublingual": "supports_oral",
    "im": "supports_im",
    "sc": "supports_im",
}
ROUTE_LABELS = {
    "iv": "IV infusion",
    "intranasal": "intranasal",
    "oral": "oral",
    "sublingual": "sublingual",
    "im": "intramuscular injection",
    "sc": "subcutaneous injection",
}


class ClinicClosure(models.Model):
    """Days the whole clinic is closed (a public holiday, a staff training day, building work)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["starts_on"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(starts_on__lte=F("ends_on")), name="closure_ordered"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="closure_needs_reason"),
        ]

    def __str__(self) -> str:
        return f"Closed {self.starts_on}-{self.ends_on}: {self.reason}"


class StaffAvailability(models.Model):
    """Weekly working hours of one staff member at one clinic (weekday 0 is Monday)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    weekday = models.PositiveSmallIntegerField()
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering: ClassVar = ["staff", "weekday", "starts"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday_valid"),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="availability_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.staff} day {self.weekday} {self.starts}-{self.ends}"


class StaffLeave(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leave"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(starts_on__lte=F("ends_on")), name="leave_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.staff} away {self.starts_on}-{self.ends_on}"


class Kind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    SCREENING = "screening", _("Screening")
    PREPARATION = "preparation", _("Preparation")
    DOSING = "dosing", _("Dosing session")
    INTEGRATION = "integration", _("Integration")
    FOLLOW_UP = "follow_up", _("Follow-up")


class State(models.TextChoices):
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


LIVE_STATES = (State.BOOKED, State.CONFIRMED, State.CHECKED_IN, State.COMPLETED)
LIVE = Q(state__in=[s.value for s in LIVE_STATES])


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def for_clinic(self, clinic: Clinic) -> AppointmentQuerySet:
        return self.filter(clinic=clinic)

    def live(self) -> AppointmentQuerySet:
        return self.filter(LIVE)

    def overlapping(self, start: object, end: object) -> AppointmentQuerySet:
        return self.live().filter(start__lt=end, end__gt=start)


class Appointment(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.BOOKED)
    cancel_reason = models.TextField(blank=True)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    planned_dose = models.ForeignKey(
        PlannedDose, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["start", "pk"]
        indexes: ClassVar = [
            models.Index(fields=["clinic", "start"]),
            # A patient's appointments in time order: the chart's Appointments tab, the
            # appointments API and the portal's upcoming visits.
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["staff", "start"]),
            models.Index(fields=["chair", "start"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=Kind.values), name="appointment_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=State.values), name="appointment_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="dosing") | Q(chair__isnull=False), name="dosing_needs_chair"
            ),
            models.CheckConstraint(
                condition=~Q(state="cancelled") | ~Q(cancel_reason=""), name="cancel_needs_reason"
            ),
            models.UniqueConstraint(
                fields=["chair", "start"], condition=LIVE, name="one_live_start_per_chair"
            ),
            models.UniqueConstraint(
                fields=["room", "start"], condition=LIVE, name="one_live_start_per_room"
            ),
            models.UniqueConstraint(
                fields=["staff", "start"], condition=LIVE, name="one_live_start_per_staff"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start:%Y-%m-%d %H:%M}"

    @property
    def place(self) -> str:
        if self.chair_id is not None:
            return str(self.chair)
        return str(self.room) if self.room_id is not None else ""


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class ReminderState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Reminder(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="reminders")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    send_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["send_at"]
        indexes: ClassVar = [models.Index(fields=["state", "next_attempt_at"])]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "send_at"], name="reminder_unique"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ReminderState.values), name="reminder_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="reminder_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} reminder at {self.send_at:%Y-%m-%d %H:%M}"


def hash_feed_token(raw: str) -> str:
    # Feed tokens carry 256 bits of randomness, so a plain digest is enough to store.
    return hashlib.sha256(raw.encode()).hexdigest()


class CalendarFeed(models.Model):
    """A staff member's secret iCalendar URL; only the token's digest is stored."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed {self.prefix}…"


class AppointmentRequest(models.Model):
    """A consultation slot asked for online by someone who may not be a patient yet."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    preferred_times = models.CharField(max_length=300)
    message = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"Request from {self.name}"


def phone_digits(phone: str) -> str:
    """A phone number's digits only, the form numbers are compared in (ASCII digits)."""
    return "".join(ch for ch in phone if ch.isascii() and ch.isdigit())[-15:]


class SmsOptOut(models.Model):
    """A phone number that replied STOP: no text reminders go to it until it replies START."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    phone_digits = models.CharField(max_length=15)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "phone_digits"], name="sms_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"No texts to …{self.phone_digits[-4:]}"


class InboundText(models.Model):
    """A text from a patient that was not a reply the system acts on, kept for front desk."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_texts"
    )
    from_digits = models.CharField(max_length=15)
    body = models.TextField(max_length=1600)
    received_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-received_at"]
        indexes: ClassVar = [models.Index(fields=["clinic", "received_at"])]

    def __str__(self) -> str:
        return f"Text received {self.received_at:%Y-%m-%d %H:%M}"
