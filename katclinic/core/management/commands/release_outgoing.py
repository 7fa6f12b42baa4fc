"""`manage.py release_outgoing`: let the worker send reminders and emails again after a
restore held them. Check first that this is the server patients should hear from."""

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from katclinic.core import outgoing


class Command(BaseCommand):
    help = "Release reminders and emails held since a restore, so the worker sends them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--by", default="", help="Who releases them (default: the operating-system user)."
        )
        parser.add_argument(
            "--status", action="store_true", help="Only say whether messages are held."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            self.stdout.write("outgoing messages are HELD" if outgoing.is_held() else "not held")
            return
        released = outgoing.release(by=options["by"] or getpass.getuser())
        if released:
            self.stdout.write("released: the worker sends due reminders and emails again")
        else:
            self.stdout.write("nothing was held")
