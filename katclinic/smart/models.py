"""Apps registered for SMART on FHIR, what people allowed them, and the tokens they hold.

Every secret (client secret, authorization code, access and refresh token) is stored as a
SHA-256 hash of 256 random bits, as API tokens are; the raw value is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.patients.models import Patient

ACCESS_PREFIX = "smart_"
REFRESH_PREFIX = "smartr_"
# A backend service's token (SMART Backend Services); it never starts with ACCESS_PREFIX.
BACKEND_PREFIX = "smartb_"


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SmartApp(models.Model):
    """An app a clinic admin registered; public apps prove themselves with PKCE alone."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="smart_apps")
    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=64, unique=True)
    confidential = models.BooleanField(default=False)
    secret_hash = models.CharField(max_length=64, blank=True)
    redirect_uris = models.JSONField(default=list)
    # Web origins whose pages may call the token and FHIR endpoints from a browser.
    origins = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    # A backend service (SMART Backend Services): it signs a JWT with a key of its JWKS
    # and holds system/ scopes, the only ones it may ask for.
    backend = models.BooleanField(default=False)
    jwks = models.JSONField(default=dict, blank=True)
    system_scopes = models.JSONField(default=list, blank=True)
    # Where staff launch the app from a patient's chart (SMART EHR launch); empty: the app
    # is launched standalone only.
    launch_url = models.TextField(blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["clinic", "disabled_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        if self.backend:
            return "backend service"
        return "confidential" if self.confidential else "public"


class SmartGrant(models.Model):
    """One person's approval of one app: its scopes and, for patient scopes, whose record."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="smart_grants")
    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="smart_grants"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="smart_grants"
    )
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["clinic", "user"])]

    def __str__(self) -> str:
        return f"{self.app} for {self.user}"


class AuthorizationCode(models.Model):
    """A one-time code, bound to its redirect address and its PKCE challenge (S256)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey(SmartGrant, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, unique=True)
    redirect_uri = models.TextField()
    code_challenge = models.CharField(max_length=128)
    # OpenID Connect: the app's nonce, repeated in the id_token it gets for this code.
    nonce = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for grant {self.grant_id}"


class EhrLaunch(models.Model):
    """A staff member opened an app from a patient's chart (SMART EHR launch).

    The app receives the raw ``launch`` value once, in its launch URL, and sends it back in
    its authorize request; only that staff member may use it, once, before it expires.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="launches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    value_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"launch of {self.app_id} for patient {self.patient_id}"


class SigningKey(models.Model):
    """The server's key for signing OpenID Connect id_tokens, made once when no key is
    configured (SMART_ID_TOKEN_KEY); its public half is published at the JWKS address."""

    name = models.CharField(max_length=40, unique=True)
    kid = models.CharField(max_length=64)
    private_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signing key {self.kid}"


class SmartToken(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey(SmartGrant, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # A refresh token is used once: the exchange that rotated it sets this.
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} token for grant {self.grant_id}"


class BackendToken(models.Model):
    """An access token a backend service obtained with a signed assertion; it acts for the
    app's clinic, not for a person."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="backend_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backend token of {self.app_id}"


class UsedAssertion(models.Model):
    """The ``jti`` of each accepted client assertion, kept until the assertion expires so
    that it cannot be presented twice (RFC 7523 section 3, item 7)."""

    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["app", "jti"], name="smart_assertion_once")
        ]
        indexes: ClassVar = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"assertion {self.jti[:16]}"
