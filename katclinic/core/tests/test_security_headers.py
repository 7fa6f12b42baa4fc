import os
import subprocess
import sys
from pathlib import Path

from katclinic.testing import ClinicTestCase

ROOT = Path(__file__).resolve().parents[3]


class SecurityHeadersTest(ClinicTestCase):
    def assert_protected(self, response: object) -> None:
        headers = response.headers  # type: ignore[attr-defined]
        csp = headers["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("object-src 'none'", csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Referrer-Policy"], "same-origin")
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        self.assertEqual(headers["Cache-Control"], "no-store")
        max_age = int(headers["Strict-Transport-Security"].split("max-age=")[1].split(";")[0])
        self.assertGreaterEqual(max_age, 365 * 24 * 60 * 60)

    def test_patient_pages_carry_every_protective_header(self) -> None:
        self.login(self.nick)
        for url in ("/patients/", f"/patients/{self.pat.pk}/"):
            with self.subTest(url=url):
                response = self.client.get(url, secure=True)
                self.assertEqual(response.status_code, 200)
                self.assert_protected(response)

    def test_api_answers_with_patient_data_carry_them_too(self) -> None:
        from katclinic.api.models import ApiToken

        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=["patients:read"]
        )
        response = self.client.get(
            f"/api/patients/{self.pat.pk}", secure=True, headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 200)
        self.assert_protected(response)

    def test_sign_in_page_is_protected(self) -> None:
        self.assert_protected(self.client.get("/accounts/login/", secure=True))


class DeployCheckTest(ClinicTestCase):
    def test_check_deploy_passes_with_production_settings(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KATCLINIC_", "DEBUG", "DATABASE_URL"))
        }
        env |= {
            "SECRET_KEY": "x7!k2#" + "q" * 60 + "Zp9$Lm3&",
            "ALLOWED_HOSTS": "clinic.example.org",
            "DJANGO_SETTINGS_MODULE": "katclinic.settings",
            "DATA_DIR": str(ROOT / "var" / "deploy-check"),
        }
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_production_refuses_to_start_without_a_secret(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KATCLINIC_", "DEBUG", "SECRET_KEY"))
        }
        env |= {
            "ALLOWED_HOSTS": "clinic.example.org",
            "DJANGO_SETTINGS_MODULE": "katclinic.settings",
        }
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SECRET_KEY", result.stderr)

    def test_migration_check_runs_without_production_secrets(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KATCLINIC_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"))
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "katclinic.settings",
            "DATA_DIR": str(ROOT / "var" / "deploy-check"),
        }
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_demo_mode_is_refused_with_debug_off(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KATCLINIC_", "DEBUG"))}
        env |= {
            "SECRET_KEY": "s" * 60,
            "ALLOWED_HOSTS": "x.org",
            "KATCLINIC_DEMO": "1",
            "DJANGO_SETTINGS_MODULE": "katclinic.settings",
        }
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("KATCLINIC_DEMO is refused", result.stderr)
