"""Writing a Bulk Data export: one NDJSON file per resource type, rendered by the FHIR
facade's own registry, in the background (Django's tasks framework, run by the worker).

Only the exporting clinic's rows are read: at the Group level only the Group's members'
records, and each type narrowed by its ``_typeFilter`` queries. When every file is written,
one audit event names the patients whose records went out. Files are deleted when the
clinic's ``bulk_export_file_hours`` have passed, or when the client cancels. An export whose
worker died (it is still running after the clinic's ``bulk_export_running_minutes``) is
marked failed, so its client is told to start again rather than wait forever.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.tasks import task
from django.utils import timezone

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.bulk.clinic_settings import EXPORT_FILE_HOURS, EXPORT_RUNNING_MINUTES
from katclinic.bulk.models import ExportJob
from katclinic.clinics.middleware import clinic_zone
from katclinic.fhir import providers, wire
from katclinic.fhir.combined import Combined
from katclinic.fhir.providers.protocols import member_ids
from katclinic.fhir.registry import REGISTRY, ResourceType, Rows
from katclinic.fhir.versions import last_updated, stamped
from katclinic.fhir.views import filtered
from katclinic.smart.backend import prune_used_assertions

logger = logging.getLogger(__name__)
CHUNK = 500
Status = ExportJob.Status
STUCK = "it was still running after"
del providers  # imported to fill the registry


def job_dir(job: ExportJob) -> Path:
    return Path(settings.BULK_EXPORT_DIR) / str(job.clinic_id) / job.key


def file_path(job: ExportJob, type_name: str) -> Path:
    return job_dir(job) / f"{type_name}.ndjson"


def _chunks(rows: Any) -> Iterator[list[Any]]:
    items: Iterable[Any] = rows if isinstance(rows, list) else rows.iterator(chunk_size=CHUNK)
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _changed_since(resource: dict[str, Any], since: datetime | None) -> bool:
    """A resource whose last change is unknown is kept: better sent twice than missed."""
    if since is None:
        return True
    changed = last_updated(resource)
    return changed is None or changed >= since


def _selected(job: ExportJob, resource_type: ResourceType, members: set[int] | None) -> Rows:
    """The clinic's rows of the type that this export writes: the Group's members' only,
    and those matching any of the type's ``_typeFilter`` queries."""
    rows = resource_type.rows(job.clinic)
    if members is not None and resource_type.patient_field is not None:
        rows = rows.filter(**{f"{resource_type.patient_field}__in": members})
    queries = job.type_filters.get(resource_type.name, [])
    if not queries:
        return rows
    matches = [filtered(resource_type, rows, QueryDict(query)) for query in queries]
    if isinstance(rows, Combined):  # a type served from several sources
        return rows.any_of(matches)
    if not isinstance(rows, QuerySet):  # definitions, served from a list
        return [row for row in rows if any(row in found for found in matches)]
    either = Q(pk__in=[])
    for found in matches:
        either |= Q(pk__in=found.values("pk"))
    return rows.filter(either)


def _write_type(
    job: ExportJob, resource_type: ResourceType, patients: set[int], members: set[int] | None
) -> int:
    """Write the type's file; returns how many resources it holds (no file when none)."""
    path = file_path(job, resource_type.name)
    part = path.with_suffix(".part")
    count = 0
    with part.open("w", encoding="utf-8") as out:
        for chunk in _chunks(_selected(job, resource_type, members)):
            for row, resource in zip(chunk, stamped(resource_type, chunk), strict=True):
                if not _changed_since(resource, job.since):
                    continue
                out.write(wire.dumps(resource))
                out.write("\n")
                count += 1
                if (patient := resource_type.patient_of(row)) is not None:
                    patients.add(patient)
                if resource_type.names_patients is not None:  # a Group's members
                    patients.update(resource_type.names_patients(row))
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
    members = None
    if job.level == ExportJob.Level.GROUP:
        if job.group is None:
            raise ValueError("a Group-level export names no Group")
        members = set(member_ids(job.group))
    for index, type_name in enumerate(job.types):
        if not _still_wanted(job):
            return None
        ExportJob.objects.filter(pk=job.pk).update(
            progress=f"writing {type_name} ({index + 1} of {len(job.types)} types)"
        )
        # Search dates without a zone are the clinic's wall-clock time, as in a request.
        with timezone.override(clinic_zone(job.clinic.timezone)):
            count = _write_type(job, REGISTRY[type_name], patients, members)
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
                **({"group": f"Group/{job.group_id}"} if job.group_id else {}),
                **({"type_filters": job.type_filters} if job.type_filters else {}),
                "counts": {item["type"]: item["count"] for item in output},
                "patients": sorted(patients),
            },
        )


@task()
def run_export(*, job_id: int) -> None:
    """Write the files of one export; a cancelled or finished job is left as it is."""
    started = ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, progress="starting", started_at=timezone.now()
    )
    if not started:
        return
    job = ExportJob.objects.select_related("clinic", "app", "group").get(pk=job_id)
    try:
        written = _write_all(job)
    except Exception as error:
        logger.exception("bulk export %s failed", job.pk)
        doing = ExportJob.objects.filter(pk=job.pk).values_list("progress", flat=True).first()
        # The error's class only: its message could quote a patient's data.
        _fail(
            job, f"the server stopped on an internal error ({type(error).__name__}) while {doing}"
        )
        raise
    if written is None:
        remove_files(job)
        return
    _finish(job, *written)


def _fail(job: ExportJob, why: str) -> bool:
    """Mark a running ``job`` failed with ``why`` and delete its files; False when it had
    finished or been cancelled meanwhile."""
    failed = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.FAILED, error=why[:1000], finished_at=timezone.now()
    )
    if failed:
        remove_files(job)
    return bool(failed)


def fail_if_stuck(job: ExportJob) -> ExportJob:
    """``job`` as it stands, marked failed first when its worker has been running it for
    longer than the clinic allows (the worker died: nothing will finish it)."""
    if job.status != Status.RUNNING or job.started_at is None:
        return job
    minutes = EXPORT_RUNNING_MINUTES.value(job.clinic)
    if job.started_at > timezone.now() - timedelta(minutes=minutes):
        return job
    if _fail(job, f"{STUCK} {minutes} minutes: the worker writing it stopped"):
        logger.warning("bulk export %s was still running after %s minutes", job.pk, minutes)
    job.refresh_from_db()
    return job


@task()
def fail_stuck_exports() -> int:
    """Mark failed every export still running past its clinic's limit; idempotent."""
    oldest = timezone.now() - timedelta(minutes=int(EXPORT_RUNNING_MINUTES.minimum or 1))
    failed = 0
    for job in ExportJob.objects.running_since_before(oldest).select_related("clinic"):
        failed += fail_if_stuck(job).status == Status.FAILED
    return failed


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
