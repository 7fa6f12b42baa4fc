from typing import Any

from django.core.management.base import BaseCommand

from katclinic.audit.services import seal, waiting


class Command(BaseCommand):
    help = (
        "Seal every audit event still waiting into its clinic's hash chain, in the order the "
        "events were written (the worker does this every AUDIT_SEAL_SECONDS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = seal()
        left = waiting().count
        self.stdout.write(f"sealed {count} audit event(s); {left} waiting")
