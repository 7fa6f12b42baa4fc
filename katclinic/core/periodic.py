"""Periodic jobs (reminders, scheduled questionnaires, escalations) run by the worker.

Apps register a task with an interval in their AppConfig.ready(); the worker's
scheduler thread enqueues each one when it is due. A job must be idempotent: the
interval is a floor, and a job may run again after a worker restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils import timezone

from katclinic.core.models import PeriodicRun


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    task: Task


JOBS: dict[str, PeriodicJob] = {}


def register(name: str, every: timedelta, task: Task) -> None:
    JOBS[name] = PeriodicJob(name, every, task)


def claim(job: PeriodicJob) -> bool:
    """Take the right to enqueue `job` now, if its interval has passed."""
    now = timezone.now()
    if PeriodicRun.objects.filter(name=job.name, last_enqueued_at__lte=now - job.every).update(
        last_enqueued_at=now
    ):
        return True
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(name=job.name, last_enqueued_at=now)
    except IntegrityError:
        return False
    return True


def enqueue_due() -> list[str]:
    started = []
    for job in JOBS.values():
        if claim(job):
            job.task.enqueue()
            started.append(job.name)
    return started
