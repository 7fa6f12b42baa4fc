"""Bulk Data exports (FHIR Bulk Data Access 2.0, https://hl7.org/fhir/uv/bulkdata/export.html):
one row per kick-off, asked by a clinic's backend service, run by the worker."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import ClassVar

from django.db import models
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.protocols.models import ProtocolVersion
from katclinic.smart.models import SmartApp


def new_key() -> str:
    return secrets.token_hex(16)


class ExportJobQuerySet(models.QuerySet["ExportJob"]):
    def for_app(self, app: SmartApp) -> ExportJobQuerySet:
        return self.filter(clinic_id=app.clinic_id, app=app)

    def running_since_before(self, moment: datetime) -> ExportJobQuerySet:
        """Exports the worker started before ``moment`` and never finished."""
        return self.filter(status=ExportJob.Status.RUNNING, started_at__lt=moment)

    def expired(self) -> ExportJobQuerySet:
        return self.filter(expires_at__lte=timezone.now()).exclude(
            status__in=[ExportJob.Status.EXPIRED, ExportJob.Status.CANCELLED]
        )


class ExportJob(models.Model):
    class Level(models.TextChoices):
        SYSTEM = "system", "Every resource of the clinic"
        PATIENT = "patient", "The clinic's patients and their records"
        GROUP = "group", "The members of one Group (a protocol cohort) and their records"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Being written"
        DONE = "done", "Ready to download"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Files deleted"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="exports")
    # The status and file addresses name this, never the row's number.
    key = models.CharField(max_length=32, unique=True, default=new_key)
    level = models.CharField(max_length=10, choices=Level.choices)
    # A Group-level export: the Group (a protocol, by its first version) whose members go out.
    group = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    types = models.JSONField(default=list)
    # _typeFilter: {"Observation": ["code=http://loinc.org|44261-6"]}; a type's queries OR.
    type_filters = models.JSONField(default=dict, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.CharField(max_length=100, blank=True)
    # [{"type": "Patient", "count": 12}], in the order written.
    output = models.JSONField(default=list)
    error = models.TextField(blank=True)
    transaction_time = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        indexes: ClassVar = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"export {self.key[:8]} of {self.app_id}"
