"""Create the organization, its first clinic and its first administrator on a new install."""

from __future__ import annotations

import getpass
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from katclinic.clinics.setup import SetupDetails, SetupRefused, set_up_clinic, setup_needed

PASSWORD_ENV = "KATCLINIC_ADMIN_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
PROMPTS = (
    ("organization", "Organization name"),
    ("clinic", "Clinic name"),
    ("timezone", "Time zone (for example America/New_York)"),
    ("address", "Address (optional)"),
    ("phone", "Phone (optional)"),
    ("npi", "NPI (optional)"),
    ("tax_id", "Tax id (optional)"),
    ("crisis_resources", "Crisis resources shown to patients (optional)"),
    ("admin_email", "Administrator email"),
    ("admin_name", "Administrator full name"),
    (
        "admin_family_name",
        "Administrator family name (optional; used in records sent to other systems)",
    ),
)


class Command(BaseCommand):
    help = (
        "Set up a new install: the organization, its first clinic and its first administrator. "
        f"Give the administrator's passphrase in a file (--admin-password-file) or in {PASSWORD_ENV}; "
        "without --no-input, missing details are asked for."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        for name, label in PROMPTS:
            flag = "--crisis-line" if name == "crisis_resources" else f"--{name.replace('_', '-')}"
            parser.add_argument(flag, dest=name, default=None, help=label)
        parser.add_argument("--admin-password-file", default=None)
        parser.add_argument(
            "--admin-password",
            default=None,
            help="Visible to other users of this machine; prefer a file or the environment.",
        )
        parser.add_argument("--no-input", action="store_true", help="Never prompt.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not setup_needed():
            raise CommandError("This install already has an organization; nothing was changed.")
        values = {name: options[name] for name, _ in PROMPTS}
        if not options["no_input"]:
            for name, label in PROMPTS:
                if values[name] is None:
                    values[name] = input(f"{label}: ").strip()
        password = self._password(options)
        details = SetupDetails(
            **{key: value or "" for key, value in values.items()}, admin_password=password
        )
        try:
            membership = set_up_clinic(details=details)
        except SetupRefused as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"Nothing was created. {problems}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {membership.clinic.organization}, clinic {membership.clinic} and "
                f"administrator {membership.user.email}. Sign in at /accounts/login/; the first "
                "sign-in asks to enrol an authenticator app."
            )
        )

    def _password(self, options: dict[str, Any]) -> str:
        if options["admin_password_file"]:
            try:
                return Path(options["admin_password_file"]).read_text().strip("\n")
            except OSError as exc:
                raise CommandError(f"Cannot read the passphrase file: {exc}") from exc
        if options["admin_password"]:
            self.stderr.write(
                "Warning: a passphrase on the command line can be seen by other users and is "
                "kept in shell history. Prefer --admin-password-file or "
                f"{PASSWORD_ENV}."
            )
            return str(options["admin_password"])
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if options["no_input"]:
            raise CommandError(
                f"Give the administrator's passphrase with --admin-password-file or {PASSWORD_ENV}."
            )
        first = getpass.getpass("Administrator passphrase: ")
        if getpass.getpass("Passphrase again: ") != first:
            raise CommandError("The two passphrases differ; nothing was created.")
        return first
