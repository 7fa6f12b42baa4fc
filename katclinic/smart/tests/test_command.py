"""`manage.py smart_app`: register, list and stop apps from automation."""

from __future__ import annotations

from io import StringIO

from django.core.management import CommandError, call_command

from katclinic.audit.models import AuditEvent
from katclinic.smart.models import SmartApp, hash_secret
from katclinic.testing import ClinicTestCase


def run(*args: str) -> str:
    out = StringIO()
    call_command("smart_app", *args, stdout=out)
    return out.getvalue()


class SmartAppCommandTest(ClinicTestCase):
    def test_register_list_and_stop(self) -> None:
        said = run(
            "register",
            "--clinic=north",
            "--name=Lab portal",
            "--redirect-uri=https://lab.example.org/cb",
            "--confidential",
        )
        app = SmartApp.objects.get()
        secret = said.split("client secret ")[1].strip()
        self.assertEqual(app.secret_hash, hash_secret(secret))
        self.assertIn(app.client_id, said)
        listing = run("list", "--clinic=north")
        self.assertIn("Lab portal", listing)
        self.assertNotIn(secret, listing)
        self.assertIn(f"app {app.pk} stopped", run("disable", str(app.pk)))
        self.assertIn("already stopped", run("disable", str(app.pk)))
        self.assertEqual(AuditEvent.objects.filter(object_type="smart.app").count(), 2)

    def test_bad_arguments_name_themselves_and_register_nothing(self) -> None:
        cases = [
            (
                ["register", "--clinic=nowhere", "--name=X", "--redirect-uri=https://x.org/"],
                "--clinic",
            ),
            (
                ["register", "--clinic=north", "--name=X", "--redirect-uri=http://x.org/"],
                "--redirect-uri:",
            ),
            (["register", "--clinic=north", "--name=", "--redirect-uri=https://x.org/"], "--name"),
            (["disable", "²"], "id"),
            (["disable", "999"], "id"),
        ]
        for args, field in cases:
            with self.subTest(args=args), self.assertRaisesMessage(CommandError, field):
                run(*args)
        self.assertFalse(SmartApp.objects.exists())
