import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.measures.catalogue import add_definition
from katclinic.measures.fhir_questionnaire import from_fhir_questionnaire
from katclinic.measures.scoring import DefinitionError


class Command(BaseCommand):
    help = "Store a FHIR R4 Questionnaire (with its scoring metadata file) as a new instrument version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("questionnaire", type=Path)
        parser.add_argument("scoring", type=Path)
        parser.add_argument(
            "--clinic", help="clinic slug; without it the version is for every clinic"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = (
            Clinic.objects.filter(slug=options["clinic"]).first() if options["clinic"] else None
        )
        if options["clinic"] and clinic is None:
            raise CommandError(f"no clinic with slug {options['clinic']!r}")
        try:
            resource = json.loads(options["questionnaire"].read_text(encoding="utf-8"))
            scoring = json.loads(options["scoring"].read_text(encoding="utf-8"))
            row = add_definition(from_fhir_questionnaire(resource, scoring), clinic)
        except (OSError, json.JSONDecodeError, DefinitionError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Stored {row}")
