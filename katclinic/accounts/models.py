from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """There are no superusers: the first administrator comes from `setup_clinic`."""
        raise NotImplementedError(
            "KAT Clinic has no superuser accounts; run manage.py setup_clinic on a new install."
        )

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


FULL_NAME_LENGTH = 200
FAMILY_NAME_LENGTH = 100


class User(AbstractBaseUser):
    """A person who signs in: clinic staff, or a patient using the portal."""

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff"
        PATIENT = "patient", "Patient"

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=FULL_NAME_LENGTH)
    # The family name on its own, as the person gives it (never split out of full_name at a
    # guess); records sent to other systems need it apart from the rest of the name.
    family_name = models.CharField(max_length=FAMILY_NAME_LENGTH, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAFF)
    is_active = models.BooleanField(default=True)
    # Demo accounts may show their current one-time code on the sign-in page, and only
    # while the server runs in demo mode (which settings refuse with DEBUG off).
    is_demo = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A clinician's own (type 1) National Provider Identifier, for superbills and claims.
    npi = models.CharField("NPI", max_length=10, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF


class TotpDevice(models.Model):
    """A TOTP authenticator (RFC 6238) enrolled by a user."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: a code is accepted once, which stops replay.
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"TOTP for {self.user}"


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator; stored hashed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code for {self.user}"


class FailureStep(models.TextChoices):
    PASSWORD = "password", "Password"
    SECOND_FACTOR = "second_factor", "Second factor"


class LoginFailure(models.Model):
    """A failed sign-in, kept to throttle guessing per account and per address.

    Password and second-factor failures are counted apart: a correct password clears only
    the password failures, so an attacker who knows the password cannot reset the count
    of wrong authenticator codes by signing in again.
    """

    email = models.CharField(max_length=254, db_index=True)
    step = models.CharField(
        max_length=16, choices=FailureStep.choices, default=FailureStep.PASSWORD
    )
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.email} at {self.at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """Which server-side sessions belong to a user, so they can all be ended at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user}"


class Passkey(models.Model):
    """A staff member's passkey (a WebAuthn credential), used in place of an authenticator code.

    Only the public key is kept; the private key never leaves the person's device.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=60)
    # The credential id and public key (COSE), base64url without padding, as browsers send them.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.TextField()
    # The authenticator's signature counter: an answer whose count does not rise is refused,
    # unless the authenticator keeps no counter (it sends 0 every time).
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"passkey {self.name} of {self.user}"
