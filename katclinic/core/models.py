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


class OutgoingHold(models.Model):
    """While a hold is open, the worker sends no reminder or email.

    `manage.py restore` opens one: a restored copy (a restore drill, a second server) holds
    the reminders and messages that were queued when the backup was taken, and would
    otherwise send them again to patients. `manage.py release_outgoing` closes it.
    """

    reason = models.CharField(max_length=200)
    held_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"outgoing held since {self.held_at:%Y-%m-%d %H:%M}: {self.reason}"
