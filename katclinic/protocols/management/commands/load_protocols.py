from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.protocols.services import load_shipped_protocols


class Command(BaseCommand):
    help = (
        "Load the shipped protocol library into every clinic (or one, with --clinic) that lacks it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", help="Slug of one clinic")

    def handle(self, *args: Any, clinic: str | None, **options: Any) -> None:
        clinics = Clinic.objects.all() if clinic is None else Clinic.objects.filter(slug=clinic)
        for row in clinics.order_by("pk"):
            added = load_shipped_protocols(clinic=row)
            self.stdout.write(f"{row.slug}: added {len(added)} protocol(s)")
