from typing import Any

from django.core.management.base import BaseCommand

from katclinic.measures.catalogue import sync_builtin_instruments


class Command(BaseCommand):
    help = "Add the shipped instrument definitions not yet in the Instrument table."

    def handle(self, *args: Any, **options: Any) -> None:
        added = sync_builtin_instruments()
        names = ", ".join(str(row) for row in added) or "nothing new"
        self.stdout.write(f"Instruments added: {names}")
