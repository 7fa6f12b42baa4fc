"""First-run setup on an empty database, from the command and from the page."""

from __future__ import annotations

import io
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from katclinic.accounts.models import TotpDevice, User
from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.lib.npi import npi_is_valid

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a test passphrase
VALID_NPI = "1234567893"  # the worked example in the CMS check-digit paper


def flags(**overrides: str) -> list[str]:
    values = {
        "organization": "Lakeside Health",
        "clinic": "Lakeside Ketamine Clinic",
        "timezone": "America/Chicago",
        "address": "1 Lake St, Madison WI",
        "phone": "555-0100",
        "npi": VALID_NPI,
        "tax-id": "12-3456789",
        "crisis-line": "Call or text 988.",
        "admin-email": "Root@Lakeside.example",
        "admin-name": "Rita Root",
        "admin-family-name": "Root",
        **overrides,
    }
    return [f"--{key}={value}" for key, value in values.items()]


def nothing_stored(test: TestCase) -> None:
    test.assertFalse(Organization.objects.exists())
    test.assertFalse(Clinic.objects.exists())
    test.assertFalse(User.objects.exists())
    test.assertFalse(StaffMembership.objects.exists())


class NpiTest(TestCase):
    def test_check_digit(self) -> None:
        self.assertTrue(npi_is_valid(VALID_NPI))
        self.assertFalse(npi_is_valid("1234567890"))
        self.assertFalse(npi_is_valid("123456789"))
        self.assertFalse(npi_is_valid("12345678a3"))


class SetupCommandTest(TestCase):
    def run_command(self, *args: str, **env: str) -> str:
        out = io.StringIO()
        with TemporaryDirectory() as tmp:
            secret = Path(tmp) / "pass"
            secret.write_text(PASSPHRASE + "\n")
            call_command(
                "setup_clinic", *args, "--no-input", f"--admin-password-file={secret}", stdout=out
            )
        return out.getvalue()

    def test_first_run_creates_organization_clinic_and_admin(self) -> None:
        output = self.run_command(*flags())
        clinic = Clinic.objects.get()
        self.assertEqual(clinic.organization.name, "Lakeside Health")
        self.assertEqual(clinic.timezone, "America/Chicago")
        self.assertEqual(clinic.npi, VALID_NPI)
        self.assertEqual(clinic.crisis_resources, "Call or text 988.")
        admin = User.objects.get()
        self.assertEqual(admin.email, "root@lakeside.example")
        self.assertEqual((admin.full_name, admin.family_name), ("Rita Root", "Root"))
        self.assertTrue(admin.check_password(PASSPHRASE))
        self.assertEqual(
            list(StaffMembership.objects.values_list("role", flat=True)), [Role.ADMIN.value]
        )
        self.assertFalse(TotpDevice.objects.exists())
        self.assertTrue(AuditEvent.objects.filter(clinic_id=clinic.pk, object_type="clinic"))
        self.assertIn("root@lakeside.example", output)

    def test_refused_once_an_organization_exists(self) -> None:
        self.run_command(*flags())
        with self.assertRaisesMessage(CommandError, "already has an organization"):
            self.run_command(
                *flags(organization="Second", clinic="Other", **{"admin-email": "b@x.example"})
            )
        self.assertEqual(Organization.objects.count(), 1)
        self.assertEqual(User.objects.count(), 1)

    def test_bad_details_store_nothing_and_name_the_field(self) -> None:
        cases = {
            "timezone": {"timezone": "Mars/Olympus"},
            "npi": {"npi": "1234567890"},
            "admin_email": {"admin-email": "not-an-email"},
            "organization": {"organization": " "},
            "admin_family_name": {"admin-family-name": "R" * 101},
        }
        for field, bad in cases.items():
            with self.subTest(field=field), self.assertRaisesMessage(CommandError, f"{field}:"):
                self.run_command(*flags(**bad))
            nothing_stored(self)

    def test_weak_passphrase_refused(self) -> None:
        out = io.StringIO()
        with self.assertRaisesMessage(CommandError, "admin_password:"):
            call_command(
                "setup_clinic",
                *flags(),
                "--no-input",
                "--admin-password=short",
                stderr=out,
                stdout=out,
            )
        self.assertIn("Warning", out.getvalue())
        nothing_stored(self)

    def test_no_passphrase_without_prompting_is_refused(self) -> None:
        with self.assertRaisesMessage(CommandError, "passphrase"):
            call_command("setup_clinic", *flags(), "--no-input", stdout=io.StringIO())
        nothing_stored(self)


def page_data(**overrides: str) -> dict[str, Any]:
    return {
        "organization": "Lakeside Health",
        "clinic": "Lakeside Ketamine Clinic",
        "timezone": "America/Chicago",
        "npi": VALID_NPI,
        "admin_email": "root@lakeside.example",
        "admin_name": "Rita Root",
        "admin_family_name": "Root",
        "admin_password": PASSPHRASE,
        **overrides,
    }


@override_settings(KATCLINIC_SETUP_FROM=["127.0.0.1"])
class SetupPageTest(TestCase):
    def test_every_page_explains_setup_until_it_is_done(self) -> None:
        for path in ("/", "/accounts/login/", "/patients/"):
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertContains(response, "manage.py setup_clinic", status_code=503)
        self.assertEqual(self.client.get("/healthz").status_code, 200)

    def test_first_run_from_the_page_then_the_admin_must_enrol_a_second_factor(self) -> None:
        self.assertEqual(self.client.get("/setup/").status_code, 200)
        response = self.client.post("/setup/", page_data())
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)
        membership = StaffMembership.objects.get()
        self.assertEqual(membership.role, Role.ADMIN)
        self.assertEqual(membership.user.family_name, "Root")
        self.assertEqual(membership.clinic.organization.name, "Lakeside Health")
        response = self.client.post(
            "/accounts/login/", {"email": "root@lakeside.example", "password": PASSPHRASE}
        )
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        response = self.client.get("/accounts/second-factor/")
        self.assertRedirects(
            response, "/accounts/second-factor/setup/", fetch_redirect_response=False
        )
        for path in ("/", "/clinic/settings/", "/patients/"):
            with self.subTest(path=path):
                self.assertRedirects(
                    self.client.get(path), "/accounts/second-factor/", fetch_redirect_response=False
                )

    def test_page_not_found_once_an_organization_exists(self) -> None:
        self.client.post("/setup/", page_data())
        self.assertEqual(self.client.get("/setup/").status_code, 404)
        response = self.client.post(
            "/setup/", page_data(organization="Again", admin_email="b@x.example")
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Organization.objects.count(), 1)

    @override_settings(KATCLINIC_SETUP_FROM=["10.0.0.5"])
    def test_page_refused_from_another_address(self) -> None:
        response = self.client.post("/setup/", page_data())
        self.assertContains(response, "KATCLINIC_SETUP_FROM", status_code=403)
        nothing_stored(self)

    def test_page_refused_through_the_proxy(self) -> None:
        response = self.client.post("/setup/", page_data(), headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(response.status_code, 403)
        nothing_stored(self)

    @override_settings(KATCLINIC_SETUP_FROM=[])
    def test_page_refused_when_no_address_is_named(self) -> None:
        self.assertEqual(self.client.post("/setup/", page_data()).status_code, 403)
        nothing_stored(self)

    def test_bad_input_names_the_field_and_stores_nothing(self) -> None:
        cases = {
            "timezone": {"timezone": "Nowhere/Here"},
            "npi": {"npi": "1234567890"},
            "admin_email": {"admin_email": "nope"},
            "admin_password": {"admin_password": "short"},
            "clinic": {"clinic": ""},
            "admin_family_name": {"admin_family_name": "R" * 101},
        }
        for field, bad in cases.items():
            with self.subTest(field=field):
                response = self.client.post("/setup/", page_data(**bad))
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
                nothing_stored(self)


class InteractiveSetupTest(TestCase):
    def test_prompts_for_what_is_missing(self) -> None:
        answers = {
            "Organization name": "Lakeside Health",
            "Clinic name": "Lakeside Clinic",
            "Time zone": "America/Denver",
            "Administrator email": "rita@lakeside.example",
            "Administrator full name": "Rita Root",
        }

        def answer(prompt: str) -> str:
            return next((v for k, v in answers.items() if prompt.startswith(k)), "")

        with (
            mock.patch("builtins.input", answer),
            mock.patch("getpass.getpass", return_value=PASSPHRASE),
        ):
            call_command("setup_clinic", stdout=io.StringIO())
        clinic = Clinic.objects.get()
        self.assertEqual((clinic.name, clinic.timezone), ("Lakeside Clinic", "America/Denver"))
        self.assertTrue(User.objects.get().check_password(PASSPHRASE))


class LastSignInTest(TestCase):
    @override_settings(KATCLINIC_SETUP_FROM=["127.0.0.1"])
    def test_signing_in_records_the_last_sign_in(self) -> None:
        self.client.post("/setup/", page_data())
        self.assertIsNone(User.objects.get().last_login)
        self.client.post(
            "/accounts/login/", {"email": "root@lakeside.example", "password": PASSPHRASE}
        )
        self.assertIsNotNone(User.objects.get().last_login)
