from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    SIGN = "sign", "Signed"
    EXPORT = "export", "Exported"
    DENIED = "denied", "Access denied"
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOGOUT = "logout", "Signed out"
    SECURITY = "security", "Security change"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    FAILURE = "failure", "Failure"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_clinic(self, clinic_id: int) -> AuditEventQuerySet:
        return self.filter(clinic_id=clinic_id)


class AuditEvent(models.Model):
    """One thing that happened to patient data or to security, append-only.

    Rows are chained per clinic (`chain`; 0 for events outside any clinic, such as a
    failed sign-in): `hash` is an HMAC over this event's fields and the previous
    event's hash. Database triggers refuse UPDATE and DELETE; `manage.py verify_audit`
    recomputes every chain and reports any altered, removed or inserted event.
    """

    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now)
    clinic_id = models.BigIntegerField(null=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        db_constraint=False,
        related_name="+",
    )
    actor = models.CharField(max_length=254, blank=True, help_text="Email of the user at the time")
    patient_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField(null=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")
        ]
        indexes: ClassVar = [
            models.Index(fields=["clinic_id", "-at"]),
            models.Index(fields=["patient_id", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type} {self.object_id}"


class AuditChainHead(models.Model):
    """The last sequence number and hash of one chain; locked while appending."""

    chain = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.seq}"
