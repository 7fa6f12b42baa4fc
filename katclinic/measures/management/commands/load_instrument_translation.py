import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.measures.instrument_translations import TranslationError, store_translation


class Command(BaseCommand):
    help = (
        "Store a publisher's official translation of a questionnaire (a JSON file with key, "
        "language, version, title, description, items and answers) as a new translation "
        "version for one clinic. Scoring is unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clinic", help="clinic slug")
        parser.add_argument("file", type=Path, help="translation JSON file")
        parser.add_argument("--source", default="", help="publisher and where its text is")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"no clinic with slug {options['clinic']!r}")
        try:
            document = json.loads(options["file"].read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{options['file'].name}: {exc}") from exc
        try:
            row = store_translation(
                document=document, source=options["source"], clinic=clinic, by=None
            )
        except TranslationError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        self.stdout.write(f"Stored {row} for {clinic.name}")
