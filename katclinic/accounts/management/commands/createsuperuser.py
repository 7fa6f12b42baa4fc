"""KAT Clinic has no superusers: administrators are clinic staff with the admin role."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

MESSAGE = (
    "KAT Clinic has no superuser accounts. On a new install, run `manage.py setup_clinic` to "
    "create the organization, its first clinic and its first administrator."
)


class Command(BaseCommand):
    help = "Not used in KAT Clinic; points at setup_clinic."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*")
        parser.add_argument("--noinput", "--no-input", action="store_true")
        parser.add_argument("--email", default=None)
        parser.add_argument("--full_name", default=None)
        parser.add_argument("--database", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        raise CommandError(MESSAGE)
