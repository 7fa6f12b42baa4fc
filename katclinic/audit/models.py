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

    An event is appended without its place in the chain (`seq`, `prev_hash`, `hash` and
    `sealed_at` empty), so appending never waits for another request. The sealing step
    (`katclinic.audit.services.seal`, run by the worker every few seconds) then takes each
    clinic's chain in turn (`chain`; 0 for events outside any clinic, such as a failed
    sign-in), in the order the events were appended, and writes each one's sequence number
    and `hash`, an HMAC over its fields (its id included) and the previous event's hash.
    Database triggers refuse DELETE and every UPDATE but that one sealing of an unsealed
    event; `manage.py verify_audit` seals what is waiting, recomputes every chain and
    reports any altered, removed or inserted event.
    """

    chain = models.BigIntegerField()
    seq = models.BigIntegerField(null=True)
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
    # Empty (NULL, not "") until sealed: the triggers allow setting them once, from NULL.
    prev_hash = models.CharField(max_length=64, null=True)  # noqa: DJ001
    hash = models.CharField(max_length=64, null=True)  # noqa: DJ001
    sealed_at = models.DateTimeField(null=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")
        ]
        indexes: ClassVar = [
            models.Index(fields=["clinic_id", "-at"]),
            models.Index(fields=["patient_id", "-at"]),
            # What the sealing step reads: the events still waiting, in the order appended.
            models.Index(
                fields=["chain", "id"], condition=models.Q(hash__isnull=True), name="audit_unsealed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type} {self.object_id}"

    @property
    def is_sealed(self) -> bool:
        return self.hash is not None


class AuditChainHead(models.Model):
    """The last sequence number and hash of one chain; locked while sealing, never while
    appending."""

    chain = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.seq}"
