from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from katclinic.demo.generator import DEMO_PASSWORD, demo_logins


class Command(BaseCommand):
    help = "Print the URL and the demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        rows = demo_logins()
        width = max((len(email) for email, _ in rows), default=10)
        self.stdout.write("")
        self.stdout.write(f"KAT Clinic is running at {url}")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for email, what in rows:
            self.stdout.write(f"  {email.ljust(width)}  {what}")
        if settings.DEMO_MODE:
            self.stdout.write(
                "Second factor: the code page shows each demo account's current code (demo mode only)."
            )
        self.stdout.write("Press Ctrl-C to stop the server and the worker.")
        self.stdout.write("")
