import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.fhir_questionnaire import scoring_metadata, to_fhir_questionnaire


class Command(BaseCommand):
    help = (
        "Write an instrument as a FHIR R4 Questionnaire plus its scoring metadata (two JSON files)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument")
        parser.add_argument("out_dir", type=Path)
        parser.add_argument("--clinic", help="clinic slug (for a clinic's own wording)")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = (
            Clinic.objects.filter(slug=options["clinic"]).first() if options["clinic"] else None
        )
        if options["clinic"] and clinic is None:
            raise CommandError(f"no clinic with slug {options['clinic']!r}")
        row = current_instrument(options["instrument"], clinic.pk if clinic else 0)
        if row is None:
            raise CommandError(f"unknown instrument {options['instrument']!r}")
        definition = definition_of(row)
        out: Path = options["out_dir"]
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{definition.key}.questionnaire.json").write_text(
            json.dumps(to_fhir_questionnaire(definition), indent=2)
        )
        (out / f"{definition.key}.scoring.json").write_text(
            json.dumps(scoring_metadata(definition), indent=2)
        )
        self.stdout.write(f"Wrote {definition.key} {definition.version} to {out}")
