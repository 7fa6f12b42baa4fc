from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """Written by each running worker every few seconds; /healthz reads the newest."""

    worker_id = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.at:%H:%M:%S}"


class PeriodicRun(models.Model):
    """When a periodic job was last enqueued; the conditional update keeps it to one
    enqueue per interval even with several workers on several servers."""

    name = models.CharField(max_length=100, primary_key=True)
    last_enqueued_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
