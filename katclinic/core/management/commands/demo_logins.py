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
        lines = [f"KAT Clinic is running at {url}", ""]
        lines.append(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        lines += [f"  {email.ljust(width)}  {what}" for email, what in rows]
        if settings.DEMO_MODE:
            lines.append(
                "Second factor: the code page shows each demo account's current code "
                "(demo mode only)."
            )
        mailer: dict[str, Any] = settings.MAILERS["default"]
        if "filebased" in mailer["BACKEND"]:
            outbox = mailer["OPTIONS"]["file_path"]
            lines.append(f"Emails the clinic sends are written to files in {outbox}")
        lines += ["", "Press Ctrl-C to stop the server and the worker."]
        rule = "=" * min(100, max(len(line) for line in lines))
        self.stdout.write("")
        self.stdout.write(rule)
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(rule)
        self.stdout.write("")
