"""Remove a person's authenticator from the server, where no second administrator can confirm."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from katclinic.clinics.second_factor import ResetRefused, reset_from_command


class Command(BaseCommand):
    help = (
        "Remove a person's authenticator app and recovery codes and sign them out everywhere; "
        "they enrol again at their next sign-in. For a clinic with a single administrator. "
        "The reset is kept in the audit trail with its reason."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="The person's sign-in email.")
        parser.add_argument("--reason", required=True, help="Why, for the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, ended = reset_from_command(email=options["email"], reason=options["reason"])
        except ResetRefused as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"The authenticator of {user.email} was removed and {ended} session(s) ended. "
                "At their next sign-in they set up a new authenticator app."
            )
        )
