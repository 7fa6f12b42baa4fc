"""Writing a Bulk Data export: one NDJSON file per resource type, rendered by the FHIR
facade's own registry, in the background (Django's tasks framework, run by the worker).

Only the exporting clinic's rows are read. When every file is written, one audit event
names the patients whose records went out. Files are deleted when the clinic's
``bulk_export_file_hours`` have passed, or when the client cancels.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.tasks import task
from django.utils import timezone

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.bulk.clinic_settings import EXPORT_FILE_HOURS
from katclinic.bulk.models import ExportJob
from katclinic.fhir import providers  # noqa: F401 - providers fill the registry
from katclinic.fhir.registry import REGISTRY, ResourceType
from katclinic.fhir.versions import last_updated, stamped
from katclinic.smart.backend import prune_used_assertions

logger = logging.getLogger(__name__)
CHUNK = 500
Status = ExportJob.Status


def job_dir(job: ExportJob) -> Path:
    return Path(settings.BULK_EXPORT_DIR) / str(job.clinic_id) / job.key


def file_path(job: ExportJob, type_name: str) -> Path:
    return job_dir(job) / f"{type_name}.ndjson"


def _chunks(rows: Any) -> Iterator[list[Any]]:
    items: Iterable[Any] = rows.iterator(chunk_size=CHUNK) if isinstance(rows, QuerySet) else rows
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _changed_since(resource: dict[str, Any], since: datetime | None) -> bool:
    """A resource whose last change is unknown is kept: better sent twice than missed."""
    if since is None:
        return True
    changed = last_updated(resource)
    return changed is None or changed >= since


def _write_type(job: ExportJob, resource_type: ResourceType, patients: set[int]) -> int:
    """Write the type's file; returns how many resources it holds (no file when none)."""
    path = file_path(job, resource_type.name)
    part = path.with_suffix(".part")
    count = 0
    with part.open("w", encoding="utf-8") as out:
        for chunk in _chunks(resource_type.rows(job.clinic)):
            for row, resource in zip(chunk, stamped(resource_type, chunk), strict=True):
                if not _changed_since(resource, job.since):
                    continue
                out.write(json.dumps(resource, separators=(",", ":"), ensure_ascii=False))
                out.write("\n")
                count += 1
                if (patient := resource_type.patient_of(row)) is not None:
                    patients.add(patient)
    if count:
        part.replace(path)
    else:
        part.unlink()
    return count


def _still_wanted(job: ExportJob) -> bool:
    return ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists()


def _write_all(job: ExportJob) -> tuple[list[dict[str, Any]], set[int]] | None:
    """Every file of ``job``; None when the client cancelled it meanwhile."""
    job_dir(job).mkdir(parents=True, exist_ok=True)
    output, patients = [], set[int]()
    for index, type_name in enumerate(job.types):
        if not _still_wanted(job):
            return None
        ExportJob.objects.filter(pk=job.pk).update(
            progress=f"writing {type_name} ({index + 1} of {len(job.types)} types)"
        )
        count = _write_type(job, REGISTRY[type_name], patients)
        if count:
            output.append({"type": type_name, "count": count})
    return output, patients


def _finish(job: ExportJob, output: list[dict[str, Any]], patients: set[int]) -> None:
    now = timezone.now()
    hours = EXPORT_FILE_HOURS.value(job.clinic)
    with transaction.atomic():
        finished = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.DONE,
            output=output,
            progress="done",
            finished_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        if not finished:  # cancelled while the last file was written
            return
        audit.record(
            request=None,
            action=Action.EXPORT,
            clinic_id=job.clinic_id,
            obj=job,
            detail={
                "via": "fhir $export",
                "app": job.app.name,
                "level": job.level,
                "counts": {item["type"]: item["count"] for item in output},
                "patients": sorted(patients),
            },
        )


@task()
def run_export(*, job_id: int) -> None:
    """Write the files of one export; a cancelled or finished job is left as it is."""
    started = ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, progress="starting"
    )
    if not started:
        return
    job = ExportJob.objects.select_related("clinic", "app").get(pk=job_id)
    try:
        written = _write_all(job)
    except Exception:
        logger.exception("bulk export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.FAILED,
            error="the export could not be written",
            finished_at=timezone.now(),
        )
        remove_files(job)
        raise
    if written is None:
        remove_files(job)
        return
    _finish(job, *written)


def remove_files(job: ExportJob) -> None:
    shutil.rmtree(job_dir(job), ignore_errors=True)


@task()
def prune_exports() -> int:
    """Delete the files of expired exports (the rows stay, marked expired); idempotent."""
    pruned = 0
    for job in ExportJob.objects.expired():
        remove_files(job)
        pruned += ExportJob.objects.filter(pk=job.pk).update(status=Status.EXPIRED, output=[])
    prune_used_assertions()
    return pruned
