"""Starting and cancelling Bulk Data exports."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.bulk.exporter import remove_files, run_export
from katclinic.bulk.models import ExportJob
from katclinic.protocols.models import ProtocolVersion
from katclinic.smart.models import BackendToken


def start_export(
    *,
    token: BackendToken,
    level: ExportJob.Level,
    types: list[str],
    since: datetime | None,
    request_url: str,
    type_filters: dict[str, list[str]] | None = None,
    group: ProtocolVersion | None = None,
) -> ExportJob:
    """A queued export of ``types`` for the token's app and clinic (of the members of
    ``group`` at the Group level, each type narrowed by its ``type_filters``); the worker
    writes it."""
    with transaction.atomic():
        job = ExportJob.objects.create(
            clinic_id=token.clinic_id,
            app=token.app,
            level=level,
            types=types,
            type_filters=type_filters or {},
            group=group,
            since=since,
            request_url=request_url[:4000],
            transaction_time=timezone.now(),
        )
        run_export.enqueue(job_id=job.pk)
    job.refresh_from_db()
    return job


def cancel_export(*, job: ExportJob, request: HttpRequest) -> None:
    """Stop ``job`` and delete its files (DELETE on the status address)."""
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.CANCELLED, output=[], finished_at=timezone.now()
        )
        audit.record(
            request=request,
            action=Action.SECURITY,
            clinic_id=job.clinic_id,
            obj=job,
            detail={"event": "bulk export cancelled", "app": job.app.name},
        )
    remove_files(job)
