"""`manage.py worker`: the database queue worker, the periodic-job scheduler and the audit
sealer (every AUDIT_SEAL_SECONDS it chains the audit events appended since)."""

import logging
import os
import socket
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from katclinic.audit.services import seal
from katclinic.core import outgoing, periodic
from katclinic.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
BEAT_SECONDS = 15


def _scheduler(worker_id: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker_id, defaults={"at": timezone.now()}
            )
            if not outgoing.is_held():
                periodic.enqueue_due()
        except Exception:
            logger.exception("scheduler tick failed; trying again at the next tick")
        finally:
            close_old_connections()
        stop.wait(BEAT_SECONDS)


def seal_tick() -> int:
    """One round of the sealer: chain every audit event waiting; never raises."""
    try:
        return seal()
    except Exception:
        logger.exception("sealing the audit events failed; trying again at the next round")
        return 0


def _sealer(stop: threading.Event) -> None:
    while not stop.is_set():
        seal_tick()
        close_old_connections()
        stop.wait(settings.AUDIT_SEAL_SECONDS)


class Command(DbWorkerCommand):
    help = "Run background tasks and enqueue periodic jobs when they are due."

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
        stop = threading.Event()
        thread = threading.Thread(
            target=_scheduler, args=(worker_id, stop), daemon=True, name="scheduler"
        )
        thread.start()
        threading.Thread(target=_sealer, args=(stop,), daemon=True, name="audit-sealer").start()
        try:
            # After a restore, queued reminders and emails wait for `release_outgoing`.
            held_logged = False
            while outgoing.is_held() and not stop.is_set():
                if not held_logged:
                    logger.warning("outgoing messages are held since a restore; waiting")
                    held_logged = True
                close_old_connections()
                stop.wait(BEAT_SECONDS)
            super().handle(*args, **options)
        finally:
            stop.set()
