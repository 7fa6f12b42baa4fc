from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.measures.catalogue import add_definition, current_instrument, definition_of
from katclinic.measures.scoring import DefinitionError, load_clinic_wording


class Command(BaseCommand):
    help = (
        "Store a clinic's licensed item wording ({link_id: text} JSON) as a new version of an "
        "instrument for that clinic. Scoring is unchanged; earlier responses keep their version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clinic", help="clinic slug")
        parser.add_argument("instrument", help="instrument key, e.g. madrs")
        parser.add_argument("wording", type=Path, help="JSON file {link_id: text}")
        parser.add_argument(
            "--as-version",
            dest="new_version",
            required=True,
            help="new version label, e.g. 1.0.0-north",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"no clinic with slug {options['clinic']!r}")
        current = current_instrument(options["instrument"], clinic)
        if current is None:
            raise CommandError(f"unknown instrument {options['instrument']!r}")
        try:
            worded = load_clinic_wording(definition_of(current), options["wording"])
            worded = worded.model_copy(update={"version": options["new_version"]})
            row = add_definition(worded, clinic)
        except DefinitionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Stored {row} for {clinic.name}")
