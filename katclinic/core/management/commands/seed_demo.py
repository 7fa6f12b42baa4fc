from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from katclinic.clinics.models import Organization
from katclinic.demo.seed import build_demo


class Command(BaseCommand):
    help = (
        "Load the demo clinic network (two clinics, staff for every role, patients at every stage)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any organization exists."
        )
        parser.add_argument("--patients-per-clinic", type=int, default=20)
        parser.add_argument("--seed", type=int, default=7)

    def handle(
        self, *args: Any, if_empty: bool, patients_per_clinic: int, seed: int, **options: Any
    ) -> None:
        if if_empty and Organization.objects.exists():
            self.stdout.write("Demo data already loaded; leaving it as it is.")
            return
        world = build_demo(seed=seed, patients_per_clinic=patients_per_clinic)
        self.stdout.write(f"Loaded {len(world.patients)} patients in {len(world.clinics)} clinics.")
