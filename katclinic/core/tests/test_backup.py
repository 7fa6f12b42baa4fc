"""`manage.py backup` and `manage.py restore`, run as the operator runs them: in
subprocesses against real database files (SQLite) or real databases (PostgreSQL, when
DATABASE_URL is set), while another process keeps writing patient records."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any
from unittest import skipUnless

import dj_database_url
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.test import SimpleTestCase

from katclinic.core import backup, backup_crypto

SEED = """
import django
django.setup()
from datetime import date
from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, Organization
from katclinic.patients import services
clinic = Clinic.objects.create(organization=Organization.objects.create(name="Backup Health"),
                               name="North", slug="north")
nurse = User.objects.create_user(email="nurse@example.org", full_name="Nina Nurse", kind="staff")
for n in range(5):
    services.register_patient(clinic=clinic, by=nurse, data={
        "first_name": f"Pat{n}", "last_name": "Backup", "date_of_birth": date(1980, 1, 1 + n),
        "phone": "555-0100"})
"""

# Records weights until the stop file appears; each one is its own transaction with its
# audit event, exactly as the nurse's form does it.
WRITER = """
import django, os, pathlib
django.setup()
from datetime import date
from decimal import Decimal
from katclinic.accounts.models import User
from katclinic.patients.models import Patient
from katclinic.patients.services import record_weight
nurse = User.objects.get(email="nurse@example.org")
patients = list(Patient.objects.all())
stop = pathlib.Path(os.environ["STOP_FILE"])
n = 0
while not stop.exists():
    record_weight(patient=patients[n % len(patients)], weight_kg=Decimal("70.5"),
                  entered_value=Decimal("70.5"), entered_unit="kg",
                  measured_on=date(2026, 1, 5), by=nurse)
    n += 1
"""


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class BackupDrill(SimpleTestCase):
    """A temporary data directory, a live database with data, and helpers to run the
    project's commands against it or against a restore target."""

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-backup-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.key_file = self.tmp / "backup.key"
        self.key_file.write_text(backup.generate_key_text())
        self.backups = self.tmp / "backups"

    # Each subclass says what "the live database" and "the restore target" are.
    def live_env(self) -> dict[str, str]:
        raise NotImplementedError

    def target_env(self) -> dict[str, str]:
        raise NotImplementedError

    def count_weights(self) -> int:
        raise NotImplementedError

    def restored_state(self) -> tuple[backup.Fingerprints, backup.Migrations]:
        raise NotImplementedError

    def base_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
        env.update(KATCLINIC_TESTING="1", DATA_DIR=str(self.tmp), PYTHONPATH=str(settings.BASE_DIR))
        env.update(DJANGO_SETTINGS_MODULE="katclinic.settings", **extra)
        env.pop("PYTEST_CURRENT_TEST", None)
        return env

    def manage(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the project's own manage.py
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=300,
        )

    def ok(self, env: dict[str, str], *args: str) -> str:
        result = self.manage(env, *args)
        self.assertEqual(result.returncode, 0, f"{args}: {result.stdout}\n{result.stderr}")
        return result.stdout

    def python(self, env: dict[str, str], code: str) -> None:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=300,
        )
        self.assertEqual(result.returncode, 0, result.stderr)

    def prepare_live(self) -> None:
        self.ok(self.live_env(), "migrate", "--noinput", "-v0")
        self.python(self.live_env(), SEED)

    def back_up_while_writing(self) -> dict[str, Any]:
        """Back up while a writer process keeps recording weights; return the manifest."""
        stop = self.tmp / "stop"
        writer = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", WRITER],
            env={**self.live_env(), "STOP_FILE": str(stop)},
            cwd=settings.BASE_DIR,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: self.count_weights() > 20, "the writer to start writing")
            self.ok(
                self.live_env(),
                "backup",
                "--dir",
                str(self.backups),
                "--key-file",
                str(self.key_file),
                "--keep",
                "3",
            )
            manifest = backup.read_manifest(backup.find_backup(self.backups))
            backed_up = manifest["tables"]["patients_weightreading"]["rows"]
            wait_for(lambda: self.count_weights() > backed_up + 20, "writes after the backup")
        finally:
            stop.touch()
            _, errors = writer.communicate(timeout=60)
        self.assertEqual(writer.returncode, 0, errors)
        return manifest

    def restore(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.manage(
            self.target_env(),
            "restore",
            str(self.backups),
            "--key-file",
            str(self.key_file),
            *extra,
        )

    def check_full_drill(self) -> None:
        self.prepare_live()
        manifest = self.back_up_while_writing()
        weights = manifest["tables"]["patients_weightreading"]["rows"]
        self.assertGreater(weights, 20)
        self.assertGreater(self.count_weights(), weights, "writes went on during the backup")
        self.assertIsNotNone(manifest["encryption"])

        result = self.restore()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("match the backup's counts and checksums", result.stdout)
        self.assertIn("HELD", result.stdout)
        tables, migrations = self.restored_state()
        # After verifying, restore holds outgoing messages: one hold row and its audit event.
        held = {"core_outgoinghold", "audit_auditevent", "audit_auditchainhead"}
        self.assertEqual(
            {k: v for k, v in tables.items() if k not in held},
            {k: v for k, v in manifest["tables"].items() if k not in held},
        )
        self.assertEqual(tables["core_outgoinghold"]["rows"], 1)
        self.assertEqual(
            tables["audit_auditevent"]["rows"], manifest["tables"]["audit_auditevent"]["rows"] + 1
        )
        self.assertIn("HELD", self.ok(self.target_env(), "release_outgoing", "--status"))
        self.assertEqual(migrations, manifest["migrations"])
        # Each weight came with its audit event, and the restored chain verifies.
        self.assertGreaterEqual(manifest["tables"]["audit_auditevent"]["rows"], weights + 5)
        self.ok(self.target_env(), "check")
        self.assertIn("audit trail intact", self.ok(self.target_env(), "verify_audit"))

        # verify_audit sealed the events waiting, so the state to keep is the one after it.
        before = self.restored_state()[0]
        again = self.restore()
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("Restore only into a new, empty database", again.stderr)
        self.assertEqual(self.restored_state()[0], before, "refusal changed data")


class SQLiteBackupTest(BackupDrill):
    template: Path | None = None  # migrated and seeded once for the whole class

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.template is not None:
            shutil.rmtree(cls.template.parent, ignore_errors=True)
        super().tearDownClass()

    def prepare_live(self) -> None:
        cls = type(self)
        if cls.template is None:
            super().prepare_live()
            cls.template = Path(tempfile.mkdtemp(prefix="kc-backup-template-")) / "t.sqlite3"
            shutil.copy(self.tmp / "live.sqlite3", cls.template)
            return
        shutil.copy(cls.template, self.tmp / "live.sqlite3")

    def live_env(self) -> dict[str, str]:
        return self.base_env(SQLITE_PATH=str(self.tmp / "live.sqlite3"))

    def target_env(self) -> dict[str, str]:
        return self.base_env(SQLITE_PATH=str(self.tmp / "restored.sqlite3"))

    def count_weights(self) -> int:
        with closing(sqlite3.connect(self.tmp / "live.sqlite3", timeout=30)) as conn:
            return int(conn.execute("SELECT count(*) FROM patients_weightreading").fetchone()[0])

    def restored_state(self) -> tuple[backup.Fingerprints, backup.Migrations]:
        return backup.sqlite_state(self.tmp / "restored.sqlite3")

    def test_backup_taken_during_writes_restores_with_equal_counts_and_checksums(self) -> None:
        self.check_full_drill()

    def take(self, *args: str) -> Path:
        self.ok(self.live_env(), "backup", "--dir", str(self.backups), *args)
        return backup.find_backup(self.backups)

    def test_it_refuses_a_backup_file_altered_after_it_was_written(self) -> None:
        self.prepare_live()
        taken = self.take()
        with open(taken / "database.sqlite3", "r+b") as f:
            f.seek(5000)
            byte = f.read(1)
            f.seek(5000)
            f.write(bytes([byte[0] ^ 1]))
        result = self.restore()
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("does not match its SHA-256", result.stderr)
        self.assertFalse((self.tmp / "restored.sqlite3").exists())

    def test_it_fails_verification_when_counts_differ_from_the_manifest(self) -> None:
        self.prepare_live()
        taken = self.take()
        manifest = json.loads((taken / "manifest.json").read_text())
        manifest["tables"]["patients_patient"]["rows"] += 1
        (taken / "manifest.json").write_text(json.dumps(manifest))
        result = self.restore()
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("table patients_patient: 5 rows, the backup had 6", result.stderr)

    def test_an_encrypted_backup_needs_the_right_key(self) -> None:
        self.prepare_live()
        self.take("--key-file", str(self.key_file))
        self.key_file.write_text(backup.generate_key_text())
        result = self.restore()
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("encrypted with a different key", result.stderr)
        stored = (self.tmp / "live.sqlite3").read_bytes()[:100]
        taken = backup.find_backup(self.backups)
        self.assertNotIn(stored[:16], (taken / "database.sqlite3.age").read_bytes()[:4096])

    def test_keep_deletes_the_oldest_backups_beyond_n(self) -> None:
        self.prepare_live()
        first = self.take()
        second = self.take("--keep", "2")
        third = self.take("--keep", "2")
        self.assertEqual(backup.complete_backups(self.backups), [second, third])
        self.assertFalse(first.exists())


@skipUnless(os.environ.get("DATABASE_URL"), "PostgreSQL backup test needs DATABASE_URL")
class PostgresBackupTest(BackupDrill):
    def setUp(self) -> None:
        super().setUp()
        import psycopg

        server = dj_database_url.parse(os.environ["DATABASE_URL"])
        self.server = {
            "user": server["USER"],
            "password": server["PASSWORD"],
            "host": server["HOST"],
            "port": str(server["PORT"] or ""),
        }
        self.names = {k: f"kc_backup_{k}_{os.getpid()}" for k in ("live", "restored")}
        self.admin = psycopg.connect(dbname="postgres", autocommit=True, **self._server())
        self.addCleanup(self.admin.close)
        for name in self.names.values():
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.execute(f'CREATE DATABASE "{name}"')
            self.addCleanup(self.admin.execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _server(self) -> dict[str, Any]:
        return {k: v for k, v in self.server.items() if v}

    def url(self, which: str) -> str:
        s = self.server
        auth = s["user"] + (f":{s['password']}" if s["password"] else "")
        return f"postgres://{auth}@{s['host']}:{s['port'] or 5432}/{self.names[which]}"

    def live_env(self) -> dict[str, str]:
        return self.base_env(DATABASE_URL=self.url("live"))

    def target_env(self) -> dict[str, str]:
        return self.base_env(DATABASE_URL=self.url("restored"))

    def count_weights(self) -> int:
        import psycopg

        with psycopg.connect(dbname=self.names["live"], **self._server()) as conn:
            row = conn.execute("SELECT count(*) FROM patients_weightreading").fetchone()
            return int(row[0]) if row else 0

    def restored_state(self) -> tuple[backup.Fingerprints, backup.Migrations]:
        with closing(backup.pg_connect({"dbname": self.names["restored"], **self._server()})) as c:
            return backup.pg_state(c)

    def test_backup_taken_during_writes_restores_with_equal_counts_and_checksums(self) -> None:
        self.check_full_drill()


def legacy_encrypted(path: Path, content: bytes, key: bytes) -> None:
    """A file in the format backups were encrypted in before age (AES-256-GCM, one nonce,
    the tag at the end), written here as that code wrote it, so old backups stay readable."""
    nonce = os.urandom(backup_crypto.LEGACY_NONCE_BYTES)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(backup_crypto.LEGACY_MAGIC)
    body = encryptor.update(content) + encryptor.finalize()
    path.write_bytes(backup_crypto.LEGACY_MAGIC + nonce + body + encryptor.tag)


class EncryptionTest(SimpleTestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.key_path = self.tmp / "backup.key"
        self.key_path.write_text(backup.generate_key_text())
        self.key = backup.load_key(self.key_path)
        self.content = os.urandom(3 * backup.CHUNK + 17)
        (self.tmp / "plain").write_bytes(self.content)
        with open(self.tmp / "plain", "rb") as f:
            self.info = backup_crypto.store(self.tmp / "f.age", f, self.key)
        self.encryption = backup_crypto.encryption_record(self.key) or {}

    def decrypt(self, key: backup.BackupKey, name: str = "f.age") -> bytes:
        out = self.tmp / f"out-{len(list(self.tmp.iterdir()))}"
        backup_crypto.decrypt(self.tmp / name, out, self.encryption, key)
        return out.read_bytes()

    def test_it_round_trips_and_records_both_digests(self) -> None:
        self.assertEqual(self.decrypt(self.key), self.content)
        self.assertEqual(
            backup.sha256_file(self.tmp / "plain"), self.info["content_sha256"], "content"
        )
        self.assertEqual(backup.sha256_file(self.tmp / "f.age"), self.info["sha256"], "stored")
        self.assertNotIn(self.content[:64], (self.tmp / "f.age").read_bytes())
        self.assertEqual(self.encryption["recipient"], self.key.public)
        self.assertTrue(self.key.public.startswith("age1"))

    def test_one_flipped_bit_or_a_lost_tail_fails_authentication(self) -> None:
        data = (self.tmp / "f.age").read_bytes()
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 1
        (self.tmp / "flipped.age").write_bytes(bytes(flipped))
        (self.tmp / "cut.age").write_bytes(data[: -(64 << 10)])
        for name in ("flipped.age", "cut.age"):
            with (
                self.subTest(name),
                self.assertRaisesMessage(backup.BackupError, "failed authentication"),
            ):
                self.decrypt(self.key, name)

    def test_another_key_is_refused_before_decrypting(self) -> None:
        other = self.tmp / "other.key"
        other.write_text(backup.generate_key_text())
        with self.assertRaisesMessage(backup.BackupError, "encrypted with a different key"):
            self.decrypt(backup.load_key(other))

    def test_a_public_key_alone_encrypts_but_cannot_restore(self) -> None:
        public = self.tmp / "public.key"
        public.write_text(f"# public key only\n{self.key.public}\n")
        key = backup.load_key(public)
        self.assertIsNone(key.identity)
        with open(self.tmp / "plain", "rb") as f:
            backup_crypto.store(self.tmp / "g.age", f, key)
        with self.assertRaisesMessage(backup.BackupError, "holds only the public key"):
            self.decrypt(key, "g.age")
        self.assertEqual(self.decrypt(self.key, "g.age"), self.content)

    def test_an_older_key_still_opens_its_backups_but_encrypts_no_new_one(self) -> None:
        raw = os.urandom(32)
        old = self.tmp / "old.key"
        old.write_text(base64.urlsafe_b64encode(raw).decode() + "\n")
        key = backup.load_key(old)
        legacy_encrypted(self.tmp / "f.enc", self.content, raw)
        encryption = {"cipher": "AES-256-GCM", "key_id": backup_crypto.legacy_key_id(raw)}
        backup_crypto.decrypt(self.tmp / "f.enc", self.tmp / "old-out", encryption, key)
        self.assertEqual((self.tmp / "old-out").read_bytes(), self.content)
        with self.assertRaisesMessage(backup.BackupError, "--generate-key"):
            with open(self.tmp / "plain", "rb") as f:
                backup_crypto.store(self.tmp / "h.age", f, key)
        self.assertFalse((self.tmp / "h.age").exists())

    def test_a_file_without_a_key_is_refused_naming_it(self) -> None:
        for text in ("", "# only a comment\n", "not a key\n", "AGE-SECRET-KEY-1QQQ\n"):
            self.key_path.write_text(text)
            with (
                self.subTest(text),
                self.assertRaisesMessage(
                    backup.BackupError, f"{self.key_path} does not hold a backup key"
                ),
            ):
                backup.load_key(self.key_path)

    @skipUnless(shutil.which("age"), "the age command is not installed")
    def test_the_standard_age_command_decrypts_a_backup(self) -> None:
        age = shutil.which("age") or "age"
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [age, "--decrypt", "-i", str(self.key_path), str(self.tmp / "f.age")],
            capture_output=True,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, self.content)


class FingerprintTest(SimpleTestCase):
    def test_row_order_does_not_matter_but_every_value_does(self) -> None:
        rows = [(1, "a", None), (2, "b", 3.5), (3, b"\x00", "2026-01-05")]
        self.assertEqual(backup.fingerprint_rows(rows), backup.fingerprint_rows(rows[::-1]))
        self.assertNotEqual(
            backup.fingerprint_rows(rows), backup.fingerprint_rows([*rows[:2], (3, b"\x01", "")])
        )
        self.assertEqual(backup.fingerprint_rows(rows)["rows"], 3)
