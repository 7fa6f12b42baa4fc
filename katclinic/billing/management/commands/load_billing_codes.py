"""Refresh the code sets from the shipped data file (safe to run again)."""

from typing import Any

from django.core.management.base import BaseCommand

from katclinic.billing.codes import load_codes


class Command(BaseCommand):
    help = "Load the shipped HCPCS, CPT, modifier and ICD-10-CM codes with their dates."

    def handle(self, *args: Any, **options: Any) -> None:
        count = load_codes()
        self.stdout.write(f"{count} codes loaded.")
