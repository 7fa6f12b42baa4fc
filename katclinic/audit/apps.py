from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class AuditConfig(AppConfig):
    name = "katclinic.audit"
    label = "audit"

    def ready(self) -> None:
        from katclinic.audit.checkpoints import write_checkpoints_task
        from katclinic.core import periodic

        periodic.register(
            "audit.checkpoints",
            timedelta(minutes=settings.AUDIT_CHECKPOINT_MINUTES),
            write_checkpoints_task,
        )
