"""Two app servers against one database share sign-ins and the task queue.

Two gunicorn instances (sync workers, production settings with DEBUG off) on two ports
serve a copy of the test database: a SQLite file, or a PostgreSQL database when
DATABASE_URL is set. A nurse signs in on server A with password and authenticator code;
server B accepts the same session cookie. A portal invitation sent on server A queues its
email as a background task, which a separate `manage.py worker` process then runs.
Signing out on A ends the session on B too.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from unittest import skipUnless

import dj_database_url
import pyotp
from django.conf import settings
from django.db import connection, connections
from django.test import TransactionTestCase

from katclinic.core.tests.browser import free_port, stop

PASSWORD = "two servers share one database"  # noqa: S105 - a throwaway test account
TOTP_SECRET = pyotp.random_base32()
# The servers run production settings, so their cookies carry the __Host- prefix.
SESSION_COOKIE = settings.SECURE_COOKIE_PREFIX + "sessionid"
CSRF_COOKIE = settings.SECURE_COOKIE_PREFIX + "csrftoken"
CSRF = secrets.token_hex(16)  # 32 characters: Django accepts the bare secret as the token

PREPARE = f"""
import django
django.setup()
from datetime import date
from django.core.management import call_command
from django.utils import timezone
from katclinic.accounts.models import TotpDevice, User
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.patients.models import Patient
clinic = Clinic.objects.create(organization=Organization.objects.create(name="Twin Health"),
                               name="North", slug="north")
nurse = User.objects.create_user(email="nurse@example.org", password={PASSWORD!r},
                                 full_name="Nina Nurse", kind="staff")
StaffMembership.objects.create(user=nurse, clinic=clinic, role=Role.NURSE)
TotpDevice.objects.create(user=nurse, secret={TOTP_SECRET!r}, confirmed_at=timezone.now())
patient = Patient.objects.create(clinic=clinic, mrn="K000001", first_name="Robin",
                                 last_name="Twinley", date_of_birth=date(1980, 3, 4),
                                 phone="555-0101")
call_command("collectstatic", interactive=False, verbosity=0)
print(patient.pk)
"""


TASKS_SQL = (
    "SELECT task_path, status FROM django_tasks_database_dbtaskresult "
    "WHERE task_path LIKE 'katclinic.portal.services.%'"
)


class Browser:
    """One person's cookies against one server: a session moves between browsers by hand."""

    def __init__(self, port: int, session: str = "") -> None:
        self.port = port
        self.session = session

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        cookie = f"{CSRF_COOKIE}={CSRF}" + (
            f"; {SESSION_COOKIE}={self.session}" if self.session else ""
        )
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": CSRF})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            for name, value in response.getheaders():
                found = (
                    re.match(rf"{re.escape(SESSION_COOKIE)}=([^;]*)", value)
                    if name.lower() == "set-cookie"
                    else None
                )
                if found:
                    self.session = found.group(1)
            return response.status, dict(response.getheaders()), text
        finally:
            conn.close()


class TwoServers(TransactionTestCase):
    """Subclasses say which database the servers share.

    A TransactionTestCase: no test transaction holds the test database, which is copied
    for the servers (they never write to the suite's own database).
    """

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-two-servers-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def database_env(self) -> dict[str, str]:
        raise NotImplementedError

    def task_statuses(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        strip = (
            "DATABASE_URL",
            "SQLITE_PATH",
            "TEST_DATABASE_NAME",
            "KATCLINIC_TESTING",
            "KATCLINIC_DEV",
            "KATCLINIC_DEMO",
            "DEBUG",
            "PYTEST_CURRENT_TEST",
            "KATCLINIC_TEST_DB_TASKS",
            "AUDIT_HMAC_KEY",
            "SECRET_KEY_FILE",
        )
        env = {k: v for k, v in os.environ.items() if k not in strip}
        env.update(
            SECRET_KEY=self.secret_key,
            ALLOWED_HOSTS="127.0.0.1",
            DEBUG="false",
            SECURE_SSL_REDIRECT="false",
            DATA_DIR=str(self.tmp),
            LOG_LEVEL="WARNING",
            MAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            DJANGO_SETTINGS_MODULE="katclinic.settings",
            PYTHONUNBUFFERED="1",
            **self.database_env(),
        )
        return env

    def run_python(self, code: str) -> str:
        result = subprocess.run(  # noqa: S603 - the project's own code
            [sys.executable, "-c", code],
            env=self.env(),
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        return result.stdout

    @contextmanager
    def gunicorn(self, name: str) -> Iterator[int]:
        port = free_port()
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "katclinic.wsgi:application",
                "--worker-class",
                "sync",
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            env=self.env(),
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield port
        finally:
            stop(process)
            log.close()

    def wait_ready(self, port: int, name: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = Browser(port).request("GET", "/healthz")
                if status in (200, 503):
                    return
            except OSError:
                time.sleep(0.2)
        self.fail(f"server {name} did not start:\n{(self.tmp / f'{name}.log').read_text()}")

    def check_two_servers(self) -> None:
        self.secret_key = secrets.token_urlsafe(50)
        patient_id = int(self.run_python(PREPARE).split()[-1])
        chart = f"/patients/{patient_id}/"
        with self.gunicorn("a") as port_a, self.gunicorn("b") as port_b:
            self.wait_ready(port_a, "a")
            self.wait_ready(port_b, "b")
            a = Browser(port_a)
            status, headers, _ = a.request(
                "POST", "/accounts/login/", {"email": "nurse@example.org", "password": PASSWORD}
            )
            self.assertEqual((status, headers.get("Location")), (302, "/accounts/second-factor/"))
            status, _, _ = a.request(
                "POST", "/accounts/second-factor/", {"code": pyotp.TOTP(TOTP_SECRET).now()}
            )
            self.assertEqual(status, 302)
            self.assertTrue(a.session)

            # Server B knows the session server A started.
            b = Browser(port_b, session=a.session)
            status, _, page = b.request("GET", chart)
            self.assertEqual(status, 200, page[:500])
            self.assertIn("Twinley", page)
            status, headers, _ = Browser(port_b).request("GET", chart)
            self.assertEqual(status, 302, "without the cookie server B asks to sign in")
            self.assertIn("/accounts/login/", headers["Location"])

            # A request on server A queues a task; a worker process runs it.
            self.assertEqual(self.task_statuses(), [])
            status, _, page = a.request(
                "POST", f"/portal/patients/{patient_id}/invite/", {"email": "robin@example.org"}
            )
            self.assertEqual(status, 302, page[:500])
            queued = self.task_statuses()
            self.assertEqual(queued, [("katclinic.portal.services.send_portal_email", "READY")])
            worker = subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    str(settings.BASE_DIR / "manage.py"),
                    "worker",
                    "--batch",
                    "--no-startup-delay",
                ],
                env=self.env(),
                capture_output=True,
                text=True,
                cwd=settings.BASE_DIR,
                timeout=120,
            )
            self.assertEqual(worker.returncode, 0, worker.stderr[-4000:])
            self.assertEqual(
                self.task_statuses(),
                [("katclinic.portal.services.send_portal_email", "SUCCESSFUL")],
            )

            # Signing out on A ends the session on B as well.
            status, _, _ = a.request("POST", "/accounts/logout/", {})
            self.assertEqual(status, 302)
            status, headers, _ = b.request("GET", chart)
            self.assertEqual(status, 302)
            self.assertIn("/accounts/login/", headers["Location"])
        for name in ("a", "b"):
            log = (self.tmp / f"{name}.log").read_text()
            self.assertNotIn("Traceback", log)
            self.assertNotIn("database is locked", log)


class TwoServersOnSQLite(TwoServers):
    """Both servers on one SQLite file (a copy of the migrated test database)."""

    def database_env(self) -> dict[str, str]:
        return {"SQLITE_PATH": str(self.tmp / "shared.sqlite3")}

    def task_statuses(self) -> list[tuple[str, str]]:
        with closing(sqlite3.connect(self.tmp / "shared.sqlite3", timeout=30)) as db:
            rows = db.execute(TASKS_SQL).fetchall()
        return [(str(p), str(s)) for p, s in rows]

    @skipUnless(connection.vendor == "sqlite", "the test database is PostgreSQL")
    def test_sign_in_and_tasks_are_shared(self) -> None:
        # The migrated test database lives in memory: copy it to a file.
        connection.ensure_connection()
        source: Any = connection.connection
        with closing(sqlite3.connect(self.tmp / "shared.sqlite3")) as target:
            source.backup(target)
        self.check_two_servers()


@skipUnless(os.environ.get("DATABASE_URL"), "PostgreSQL: set DATABASE_URL")
class TwoServersOnPostgreSQL(TwoServers):
    """Both servers on one PostgreSQL database (a copy of the migrated test database)."""

    def setUp(self) -> None:
        super().setUp()
        self.url = os.environ["DATABASE_URL"]
        self.db = dj_database_url.parse(self.url)
        self.name = f"kc_two_servers_{os.getpid()}"
        # CREATE DATABASE ... TEMPLATE needs the template without other sessions: close
        # this process's connection to the test database (the next test reopens it).
        connections["default"].close()
        template = connections["default"].settings_dict["NAME"]
        self.assertTrue(template.startswith("test_"), f"{template} is not a test database")
        with self.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
        self.addCleanup(self.drop)

    def connect(self, name: str) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.db["HOST"],
            port=self.db["PORT"] or 5432,
            user=self.db["USER"],
            password=self.db["PASSWORD"] or None,
            dbname=name,
            autocommit=True,
        )

    def drop(self) -> None:
        with self.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def database_env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url.rsplit("/", 1)[0] + "/" + self.name}

    def task_statuses(self) -> list[tuple[str, str]]:
        with self.connect(self.name) as db:
            rows = db.execute(TASKS_SQL).fetchall()
        return [(str(p), str(s)) for p, s in rows]

    def test_sign_in_and_tasks_are_shared(self) -> None:
        self.check_two_servers()
