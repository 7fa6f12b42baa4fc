"""The patient portal: emailed links, the integration journal and appointment requests."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient


class LinkPurpose(models.TextChoices):
    SIGN_IN = "sign_in", "Sign-in link"
    INVITATION = "invitation", "Account invitation"
    RESET = "reset", "Password reset"


class PortalLinkQuerySet(models.QuerySet["PortalLink"]):
    def usable(self) -> PortalLinkQuerySet:
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class PortalLink(models.Model):
    """A single-use emailed link. Only the SHA-256 of its token is stored."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=12, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = PortalLinkQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(purpose__in=LinkPurpose.values), name="portal_link_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gte=models.F("created_at")),
                name="portal_link_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.user}"


class LinkRequest(models.Model):
    """One request for an emailed link, kept to rate-limit by address and by email."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.email} at {self.at:%Y-%m-%d %H:%M}"


class JournalEntryQuerySet(models.QuerySet["JournalEntry"]):
    def shared(self) -> JournalEntryQuerySet:
        return self.filter(shared_with_therapist=True)


class JournalEntry(models.Model):
    """A patient's own dated note; private unless the patient shares it with the care team."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="journal_entries")
    text = models.TextField(max_length=10000)
    created_at = models.DateTimeField(default=timezone.now)
    session = models.ForeignKey(
        "dosing.DosingSession", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shared_with_therapist = models.BooleanField(default=False)
    shared_at = models.DateTimeField(null=True, blank=True)

    objects = JournalEntryQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["clinic", "patient", "-created_at"])]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(text=""), name="journal_entry_text_not_empty"),
            models.CheckConstraint(
                condition=Q(shared_with_therapist=False) | Q(shared_at__isnull=False),
                name="journal_shared_entry_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"journal entry of {self.patient} on {self.created_at:%Y-%m-%d}"


class RequestKind(models.TextChoices):
    RESCHEDULE = "reschedule", "Move to another time"
    CANCEL = "cancel", "Cancel"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for the clinic"
    DONE = "done", "Handled"


class AppointmentRequestQuerySet(models.QuerySet["AppointmentRequest"]):
    def for_clinic(self, clinic: Clinic) -> AppointmentRequestQuerySet:
        return self.filter(clinic=clinic)

    def open(self) -> AppointmentRequestQuerySet:
        return self.filter(status=RequestStatus.OPEN)


class AppointmentRequest(models.Model):
    """A patient's request to move or cancel a visit; front desk acts on it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="appointment_requests"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The visit's time as the patient saw it, so the request reads the same after a move.
    appointment_starts_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=12, choices=RequestKind.choices)
    preferred_times = models.CharField(max_length=200, blank=True)
    message = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=8, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AppointmentRequestQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["created_at"]
        indexes: ClassVar = [models.Index(fields=["clinic", "status", "created_at"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kind__in=RequestKind.values), name="appointment_request_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values),
                name="appointment_request_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="open", handled_at__isnull=True)
                | Q(status="done", handled_at__isnull=False),
                name="appointment_request_handled_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request from {self.patient}"
