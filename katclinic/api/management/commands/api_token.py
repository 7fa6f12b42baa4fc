"""`manage.py api_token issue|list|revoke`: API tokens for automation.

    manage.py api_token issue --user lab@example.org --clinic north --name "lab interface" \
        --scope patients:read --scope measures:write [--days 30]
    manage.py api_token list [--clinic north] [--user lab@example.org]
    manage.py api_token revoke <id>

`issue` prints the secret once; the clinic stores only its hash. Every issue and revoke is
audited in the clinic's chain.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from katclinic.accounts.models import User
from katclinic.api import services
from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.models import Clinic
from katclinic.lib.parse import BadParameter, parse_id


class Command(BaseCommand):
    help = "Issue, list or revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="Issue a token and print its secret once.")
        issue.add_argument("--user", required=True, help="Email of the person it acts as.")
        issue.add_argument("--clinic", required=True, help="The clinic's slug.")
        issue.add_argument("--name", required=True, help="What the token is for.")
        issue.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=Scope.values,
            help="A scope it may use (repeat for several).",
        )
        issue.add_argument("--days", type=int, default=None, help="Lifetime in days.")
        listing = sub.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--clinic", default="", help="Only this clinic's (slug).")
        listing.add_argument("--user", default="", help="Only this person's (email).")
        revoke = sub.add_parser("revoke", help="Revoke a token now.")
        revoke.add_argument("id", help="The token's number, as `list` shows it.")

    def handle(self, *args: Any, **options: Any) -> None:
        actions = {"issue": self.do_issue, "list": self.do_list, "revoke": self.do_revoke}
        actions[options["action"]](options)

    def do_issue(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(email__iexact=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active account {options['user']!r}")
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"--clinic: no clinic with slug {options['clinic']!r}")
        if not (user.memberships.filter(clinic=clinic, is_active=True).exists()):
            raise CommandError(f"--user: {user.email} does not work at {clinic.name}")
        try:
            token, raw = services.issue_token(
                user=user,
                clinic=clinic,
                name=options["name"],
                scopes=options["scope"],
                days=options["days"],
                by=None,
            )
        except services.TokenRefused as error:
            raise CommandError(f"--{error}") from error
        self.stdout.write(f"token {token.pk} for {user.email} at {clinic.slug}")
        self.stdout.write(f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC")
        self.stdout.write(raw)

    def do_list(self, options: dict[str, Any]) -> None:
        rows = ApiToken.objects.select_related("user", "clinic").order_by("pk")
        if options["clinic"]:
            rows = rows.filter(clinic__slug=options["clinic"])
        if options["user"]:
            rows = rows.filter(user__email__iexact=options["user"])
        for token in rows:
            state = "revoked" if token.revoked_at else ("usable" if token.is_usable else "expired")
            expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.prefix}…\t{token.clinic.slug}\t{token.user.email}\t"
                f"{token.name}\t{','.join(token.scopes)}\texpires {expires}\t"
                f"last used {used}\t{state}"
            )

    def do_revoke(self, options: dict[str, Any]) -> None:
        try:
            pk = parse_id(options["id"], "id")
        except BadParameter as error:
            raise CommandError(str(error)) from error
        token = ApiToken.objects.select_related("user").filter(pk=pk).first()
        if token is None:
            raise CommandError(f"id: no token {pk}")
        if services.revoke_token(token=token, by=None):
            self.stdout.write(f"token {pk} revoked")
        else:
            self.stdout.write(f"token {pk} was already revoked")
