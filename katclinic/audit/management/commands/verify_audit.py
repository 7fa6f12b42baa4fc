from typing import Any

from django.core.management.base import BaseCommand, CommandError

from katclinic.audit.models import AuditEvent
from katclinic.audit.services import verify_all


class Command(BaseCommand):
    help = "Recompute every audit hash chain and report any altered, removed or inserted event."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify_all()
        for p in problems:
            self.stderr.write(f"chain {p.chain}, event {p.seq}: {p.problem}")
        if problems:
            raise CommandError(f"audit trail check FAILED: {len(problems)} problem(s)")
        self.stdout.write(f"audit trail intact: {AuditEvent.objects.count()} events verified")
