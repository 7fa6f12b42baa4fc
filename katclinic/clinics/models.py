from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from katclinic.clinics.permissions import Role


class Organization(models.Model):
    """A provider that runs one or more clinics."""

    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class ClinicQuerySet(models.QuerySet["Clinic"]):
    def for_user(self, user: Any) -> ClinicQuerySet:
        return self.filter(memberships__user=user, memberships__is_active=True).distinct()


class Clinic(models.Model):
    """A site where patients are seen. Every row holding patient data carries its clinic."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="Type 2 (organization) NPI.")
    tax_id = models.CharField("Tax id", max_length=20, blank=True)
    timezone = models.CharField(max_length=64, default="America/New_York")
    # {"mon": ["08:00", "18:00"], ...}; a missing day is closed.
    opening_hours = models.JSONField(default=dict, blank=True)
    after_hours_rule = models.TextField(
        blank=True,
        help_text="What happens to urgent safety alerts when the clinic is closed.",
    )
    crisis_resources = models.TextField(
        blank=True,
        help_text="Shown to patients whenever a safety concern is raised.",
    )

    objects = ClinicQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class StaffMembershipQuerySet(models.QuerySet["StaffMembership"]):
    def active(self) -> StaffMembershipQuerySet:
        return self.filter(is_active=True, user__is_active=True)


class StaffMembership(models.Model):
    """One role a staff user holds at one clinic; a person may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StaffMembershipQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "clinic", "role"], name="one_membership_per_role"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.clinic}"


class ClinicSetting(models.Model):
    """A clinic's own value for a setting in the registry (`katclinic.clinics.registry`)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="setting_values")
    key = models.CharField(max_length=100)
    value = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "key"], name="one_value_per_setting")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} at {self.clinic}"


class Invitation(models.Model):
    """An emailed, single-use invitation for a person to join a clinic's staff in a role.

    Only a hash of the token is kept, so a copy of the database cannot be used to accept it.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation for {self.email} at {self.clinic}"


class TextKind(models.TextChoices):
    """Patient-facing texts a clinic writes for itself (crisis resources live on Clinic)."""

    PUBLIC_ABOUT = "public_about", "Public page: what the treatment is"
    PUBLIC_SESSION = "public_session", "Public page: what a session is like"
    REMINDER_NOTE = "reminder_note", "Appointment reminders: a note added to every reminder"
    PREPARATION = "preparation", "Before a dosing session: the clinic's own instructions"


class ClinicText(models.Model):
    """One version of a clinic's patient-facing text; the newest per kind is shown, and an
    empty text means the built-in wording. Rows are only ever added."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="texts")
    kind = models.CharField(max_length=20, choices=TextKind.choices)
    text = models.TextField(max_length=5000, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["kind", "-changed_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(kind__in=TextKind.values), name="clinic_text_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.clinic}"


class OrganizationAdmin(models.Model):
    """A person who administers the whole organization: adds clinics, copies settings between
    them and confirms second-factor resets where a clinic has no second administrator."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="admins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_roles"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_org_admin_row")
        ]

    def __str__(self) -> str:
        return f"{self.user} administers {self.organization}"


class ClinicSettingChange(models.Model):
    """One change of a clinic setting: who, when, from what, to what and why. Append-only:
    database triggers refuse an update, a delete or a truncate (migration 0008)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="setting_changes")
    key = models.CharField("setting", max_length=100)
    old_value = models.JSONField("value before", null=True, help_text="Empty: the default.")
    new_value = models.JSONField("value after")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()

    class Meta:
        indexes: ClassVar = [models.Index(fields=["clinic", "key", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.key} changed at {self.clinic}"


class SecondFactorReset(models.Model):
    """An administrator's request to remove a person's authenticator, which a second
    administrator must confirm before it takes effect."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="second_factor_resets"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="second_factor_resets",
        verbose_name="person",
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"second-factor reset for {self.user} at {self.clinic}"

    @property
    def is_open(self) -> bool:
        return (
            self.confirmed_at is None
            and self.cancelled_at is None
            and self.expires_at > timezone.now()
        )
