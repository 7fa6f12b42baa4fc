"""`manage.py smart_app register|list|disable`: SMART apps for automation.

    manage.py smart_app register --clinic north --name "Mood diary" \
        --redirect-uri https://diary.example.org/callback [--origin https://...] [--confidential] \
        [--launch-url https://diary.example.org/launch]
    manage.py smart_app register --clinic north --name "Registry export" --backend \
        --jwks service-public-keys.json [--scope "system/*.rs"]
    manage.py smart_app list [--clinic north]
    manage.py smart_app disable <id>

`register` prints the client id and, for a confidential app, its secret once; the clinic
stores only the secret's hash. A backend service (SMART Backend Services, for bulk export)
is registered with the file of its public keys (a JWKS) and signs in with its private key. Each registration and each stop is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.clinics.models import Clinic
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.smart import backend, services
from katclinic.smart.models import SmartApp

OPTIONS = {
    "name": "--name",
    "redirect_uris": "--redirect-uri",
    "origins": "--origin",
    "launch_url": "--launch-url",
    "jwks": "--jwks",
    "system_scopes": "--scope",
}


class Command(BaseCommand):
    help = "Register, list or stop SMART on FHIR apps."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="Register an app and print its client id.")
        register.add_argument("--clinic", required=True, help="The clinic's slug.")
        register.add_argument("--name", required=True, help="The app's name, as people see it.")
        register.add_argument(
            "--redirect-uri", action="append", default=[], help="Repeat for several."
        )
        register.add_argument("--origin", action="append", default=[], help="Browser origin.")
        register.add_argument(
            "--launch-url", default="", help="Where staff open it from a chart (EHR launch)."
        )
        register.add_argument(
            "--confidential", action="store_true", help="It runs on a server and keeps a secret."
        )
        register.add_argument(
            "--backend", action="store_true", help="A backend service that exports in bulk."
        )
        register.add_argument("--jwks", default="", help="File of a backend service's JWKS.")
        register.add_argument("--scope", default="system/*.rs", help="A backend's system/ scopes.")
        listing = sub.add_parser("list", help="List apps (never their secrets).")
        listing.add_argument("--clinic", default="", help="Only this clinic's (slug).")
        disable = sub.add_parser("disable", help="Stop an app and revoke its access.")
        disable.add_argument("id", help="The app's number, as `list` shows it.")

    def handle(self, *args: Any, **options: Any) -> None:
        actions = {"register": self.do_register, "list": self.do_list, "disable": self.do_disable}
        actions[options["action"]](options)

    def do_register(self, options: dict[str, Any]) -> None:
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"--clinic: no clinic with slug {options['clinic']!r}")
        try:
            if options["backend"]:
                self.do_register_backend(clinic, options)
                return
            app, secret = services.register_app(
                clinic=clinic,
                name=options["name"],
                redirect_uris=options["redirect_uri"],
                origins=options["origin"],
                confidential=options["confidential"],
                launch_url=options["launch_url"],
                by=None,
            )
        except services.AppRefused as error:
            field, _, why = str(error).partition(": ")
            raise CommandError(f"{OPTIONS.get(field, field)}: {why}") from error
        self.stdout.write(f"app {app.pk} ({app.kind}) at {clinic.slug}")
        self.stdout.write(f"client id {app.client_id}")
        if secret:
            self.stdout.write(f"client secret {secret}")

    def do_register_backend(self, clinic: Clinic, options: dict[str, Any]) -> None:
        if options["redirect_uri"] or options["confidential"]:
            raise services.AppRefused("redirect_uris: a backend service has no redirect addresses")
        try:
            jwks = Path(options["jwks"]).read_text(encoding="utf-8") if options["jwks"] else ""
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"--jwks: cannot read {options['jwks']}: {error}") from error
        app = backend.register_backend(
            clinic=clinic, name=options["name"], jwks=jwks, scopes=options["scope"], by=None
        )
        self.stdout.write(f"app {app.pk} ({app.kind}) at {clinic.slug}")
        self.stdout.write(f"client id {app.client_id}")
        self.stdout.write(f"scopes {' '.join(app.system_scopes)}")

    def do_list(self, options: dict[str, Any]) -> None:
        rows = SmartApp.objects.select_related("clinic").order_by("pk")
        if options["clinic"]:
            rows = rows.filter(clinic__slug=options["clinic"])
        for app in rows:
            state = "stopped" if app.disabled_at else "active"
            self.stdout.write(
                f"{app.pk}\t{app.client_id}\t{app.clinic.slug}\t{app.name}\t{app.kind}\t"
                f"{' '.join(app.redirect_uris)}\t{state}"
            )

    def do_disable(self, options: dict[str, Any]) -> None:
        try:
            pk = parse_id(options["id"], "id")
        except BadParameter as error:
            raise CommandError(str(error)) from error
        app = SmartApp.objects.filter(pk=pk).first()
        if app is None:
            raise CommandError(f"id: no app {pk}")
        if services.disable_app(app=app, by=None):
            self.stdout.write(f"app {pk} stopped")
        else:
            self.stdout.write(f"app {pk} was already stopped")
