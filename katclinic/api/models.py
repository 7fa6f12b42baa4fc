from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic


class Scope(models.TextChoices):
    """What a token may be used for; every endpoint names the scope it needs."""

    PATIENTS_READ = "patients:read", "Read patients"
    PATIENTS_WRITE = "patients:write", "Create and change patients"
    MEASURES_READ = "measures:read", "Read questionnaire responses and scores"
    MEASURES_WRITE = "measures:write", "Submit questionnaire responses"
    APPOINTMENTS_READ = "appointments:read", "Read appointments"
    PLANS_READ = "plans:read", "Read treatment plans"
    SESSIONS_READ = "sessions:read", "Read dosing sessions"
    ALERTS_READ = "alerts:read", "Read safety alerts"
    ALERTS_WRITE = "alerts:write", "Acknowledge and close safety alerts"
    FHIR_READ = "fhir:read", "Read through the FHIR facade"
    FHIR_WRITE = "fhir:write", "Import through the FHIR facade"


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token acting as one user, in one clinic, with a set of scopes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        indexes: ClassVar = [models.Index(fields=["user", "clinic"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, *, user: User, clinic: Clinic, name: str, scopes: list[str], **extra: object
    ) -> tuple[ApiToken, str]:
        """Create a token; the raw value is returned once and never stored."""
        unknown = set(scopes) - set(Scope.values)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        raw = "kat_" + secrets.token_urlsafe(32)
        # Every token expires unless the caller says otherwise (settings.API_TOKEN_DAYS).
        extra.setdefault("expires_at", timezone.now() + timedelta(days=settings.API_TOKEN_DAYS))
        token = cls.objects.create(
            user=user,
            clinic=clinic,
            name=name,
            token_hash=hash_token(raw),
            prefix=raw[:12],
            scopes=sorted(set(scopes)),
            **extra,
        )
        return token, raw

    def allows(self, scope: Scope) -> bool:
        return scope.value in self.scopes

    def get_scopes_display(self) -> list[str]:
        labels = dict(Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]

    @property
    def is_usable(self) -> bool:
        expired = self.expires_at is not None and self.expires_at <= timezone.now()
        return self.revoked_at is None and not expired
