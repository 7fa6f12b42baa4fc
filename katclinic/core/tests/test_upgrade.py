"""Upgrading a clinic's database from the last release keeps every record.

The saved fixture is the last release's database with data in it, kept as two files:
which migration each app was at (`release-<commit>-migrations.json`) and every row of
every table of a seeded demo clinic made with that release's code
(`release-<commit>-data.json.gz`). The test builds a fresh database (a SQLite file, or a
scratch PostgreSQL database when DATABASE_URL is set), migrates it to the release's state
with Django's MigrationExecutor, inserts the saved rows at that schema, then runs
`migrate` up to whatever migrations exist now. Every saved row must still be there, key
records must read back unchanged through today's models, and the audit hash chain must
verify.

To save the fixture for a new release (in a checkout of that release, seeded with
`manage.py seed_demo --patients-per-clinic 6`), run from today's tree:

    SQLITE_PATH=<release db> KATCLINIC_TESTING=1 python katclinic/core/tests/test_upgrade.py \\
        capture <commit>

The steps run in a child process (this file run as a script), so the test database of
the suite is never touched.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import skipUnless

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELEASE = "0be26a1"
# Records compared field by field after the upgrade (the rest by primary key).
KEY_TABLES = {
    "accounts_user": ("email", "full_name", "kind", "is_active"),
    "patients_patient": ("first_name", "last_name", "date_of_birth", "clinic_id", "mrn"),
    "measures_response": ("patient_id", "instrument_key", "answers", "total", "band"),
    "dosing_dosingsession": ("patient_id", "plan_id", "state", "discharged_at"),
    "audit_auditevent": ("seq", "chain", "action", "patient_id", "at", "hash", "prev_hash"),
}


def migrations_file(release: str) -> Path:
    return FIXTURES / f"release-{release}-migrations.json"


def data_file(release: str) -> Path:
    return FIXTURES / f"release-{release}-data.json.gz"


def encode(value: Any) -> Any:
    """A column value as JSON; the historical model's field turns it back (to_python)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, timedelta):
        from django.utils.duration import duration_iso_string

        return duration_iso_string(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def release_apps(targets: list[tuple[str, str]]) -> Any:
    """The models exactly as they were at the release (historical models)."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return loader.project_state([(app, name) for app, name in targets]).apps


def tables_of(apps: Any) -> dict[str, Any]:
    return {
        m._meta.db_table: m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }


def capture(release: str) -> None:
    """Save the migration state and every row of the database in SQLITE_PATH/DATABASE_URL."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    applied = set(loader.applied_migrations)
    targets = sorted(
        node
        for node in applied
        if not any(
            child.key in applied and child.key[0] == node[0]
            for child in loader.graph.node_map[node].children
        )
    )
    lines = ",\n".join(f" {json.dumps(list(t))}" for t in targets)
    migrations_file(release).write_text(f"[\n{lines}\n]\n")
    tables: dict[str, Any] = {}
    for table, model in sorted(tables_of(release_apps(targets)).items()):
        columns = [f.attname for f in model._meta.concrete_fields]
        rows = [
            [encode(v) for v in row]
            for row in model._base_manager.order_by("pk").values_list(*columns)
        ]
        tables[table] = {"model": model._meta.label_lower, "columns": columns, "rows": rows}
    payload = json.dumps({"release": release, "tables": tables}, separators=(",", ":"))
    data_file(release).write_bytes(gzip.compress(payload.encode(), mtime=0))


def children_first(tables: dict[str, Any], models: dict[str, Any]) -> list[str]:
    """Tables ordered so that rows pointing at another table go in before it.

    Foreign keys are checked at commit, so any order satisfies them; children first keeps
    triggers that refuse rows under an already-signed parent (intake) from firing on
    history that was written in the right order at the time.
    """
    parents = {
        t: {
            f.related_model._meta.db_table
            for f in models[t]._meta.concrete_fields
            if f.is_relation and f.related_model is not None
        }
        - {t}
        for t in tables
    }
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(table: str) -> None:
        if table in seen:
            return
        seen.add(table)
        for parent in sorted(parents.get(table, ())):
            if parent in tables:
                visit(parent)
        ordered.append(table)

    for table in sorted(tables):
        visit(table)
    return ordered[::-1]


def load_release(release: str) -> dict[str, int]:
    """Migrate an empty database to the release and insert the release's rows."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    targets = [(app, name) for app, name in json.loads(migrations_file(release).read_text())]
    MigrationExecutor(connection).migrate(targets)
    models = tables_of(release_apps(targets))
    saved = json.loads(gzip.decompress(data_file(release).read_bytes()))["tables"]
    missing = sorted(set(saved) - set(models))
    if missing:
        raise SystemExit(f"tables in the fixture but not in the release's schema: {missing}")
    with transaction.atomic():
        for table in children_first(saved, models):
            model, entry = models[table], saved[table]
            fields = [model._meta.get_field(name) for name in _field_names(model, entry)]
            objects = [
                model(**{f.attname: f.to_python(v) for f, v in zip(fields, row, strict=True)})
                for row in entry["rows"]
            ]
            model._base_manager.bulk_create(objects, batch_size=200)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models.values())):
            cursor.execute(sql)
    return {table: len(entry["rows"]) for table, entry in saved.items()}


def _field_names(model: Any, entry: dict[str, Any]) -> list[str]:
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[c] for c in entry["columns"]]


def upgrade(release: str) -> dict[str, Any]:
    """Load the release, migrate to today's latest, and report what is there."""
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from katclinic.audit.services import verify_all

    loaded = load_release(release)
    call_command("migrate", verbosity=0, interactive=False)
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    saved = json.loads(gzip.decompress(data_file(release).read_bytes()))["tables"]
    now = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
    report: dict[str, Any] = {
        "loaded": loaded,
        "pending": [str(m) for m, _ in pending],
        "missing_tables": [],
        "missing_rows": {},
        "counts": {},
        "changed": {},
    }
    for table, entry in saved.items():
        model = now.get(table)
        if model is None:
            report["missing_tables"].append(table)
            continue
        report["counts"][table] = model._base_manager.count()
        pk = model._meta.pk.attname
        before = {str(row[entry["columns"].index(pk)]) for row in entry["rows"]}
        after = {str(v) for v in model._base_manager.values_list(pk, flat=True)}
        if before - after:
            report["missing_rows"][table] = sorted(before - after)[:10]
    for table, names in KEY_TABLES.items():
        report["changed"][table] = _changed_rows(now[table], saved[table], names)
    report["audit_problems"] = [str(p) for p in verify_all()]
    report["audit_events"] = now["audit_auditevent"]._base_manager.count()
    return report


def _changed_rows(model: Any, entry: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    fields = [model._meta.get_field(n) for n in names]
    attnames = [f.attname for f in fields]
    pk = model._meta.pk.attname
    stored = {row[0]: row[1:] for row in model._base_manager.values_list(pk, *attnames)}
    changed = []
    for row in entry["rows"]:
        value = dict(zip(entry["columns"], row, strict=True))
        expected = tuple(f.to_python(value[a]) for f, a in zip(fields, attnames, strict=True))
        if stored.get(value[pk]) != expected:
            changed.append(f"{value[pk]}: {expected!r} != {stored.get(value[pk])!r}")
    return changed[:5]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")
    import django

    django.setup()
    role, release = sys.argv[1], sys.argv[2]
    if role == "capture":
        capture(release)
    else:
        Path(sys.argv[3]).write_text(json.dumps(upgrade(release), default=str))


if __name__ != "__main__":
    # Imported by the test runner.
    import dj_database_url
    from django.conf import settings
    from django.test import SimpleTestCase

    class UpgradeFromLastRelease(SimpleTestCase):
        """A database of the last release, with data, migrated up to today's schema."""

        def setUp(self) -> None:
            self.tmp = Path(tempfile.mkdtemp(prefix="kc-upgrade-test-"))
            self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

        def run_upgrade(self, **database: str) -> dict[str, Any]:
            strip = (
                "DATABASE_URL",
                "SQLITE_PATH",
                "SECRET_KEY",
                "SECRET_KEY_FILE",
                "AUDIT_HMAC_KEY",
                "AUDIT_HMAC_KEY_FILE",
                "PYTEST_CURRENT_TEST",
            )
            env = {k: v for k, v in os.environ.items() if k not in strip}
            # The release's demo was seeded with the development keys, as tests run.
            env.update(
                KATCLINIC_TESTING="1",
                DATA_DIR=str(self.tmp),
                DJANGO_SETTINGS_MODULE="katclinic.settings",
                **database,
            )
            out = self.tmp / "report.json"
            result = subprocess.run(  # noqa: S603 - this file, as a script
                [sys.executable, __file__, "upgrade", RELEASE, str(out)],
                env=env,
                capture_output=True,
                text=True,
                cwd=settings.BASE_DIR,
                timeout=600,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr[-5000:])
            report: dict[str, Any] = json.loads(out.read_text())
            return report

        def check(self, report: dict[str, Any]) -> None:
            loaded = report["loaded"]
            self.assertGreater(loaded["patients_patient"], 0)
            self.assertGreater(loaded["measures_response"], 0)
            self.assertGreater(loaded["audit_auditevent"], 100)
            self.assertEqual(report["pending"], [], "migrations left unapplied")
            self.assertEqual(report["missing_tables"], [])
            self.assertEqual(report["missing_rows"], {})
            # Every table has at least its saved rows (migrations may add rows, e.g. new
            # content types or instruments, never remove them).
            for table, count in loaded.items():
                self.assertGreaterEqual(report["counts"][table], count, table)
            self.assertEqual(report["counts"]["patients_patient"], loaded["patients_patient"])
            self.assertEqual(report["counts"]["measures_response"], loaded["measures_response"])
            self.assertEqual(report["changed"], dict.fromkeys(KEY_TABLES, []))
            self.assertEqual(report["audit_problems"], [])
            self.assertGreaterEqual(report["audit_events"], loaded["audit_auditevent"])

        def test_sqlite(self) -> None:
            self.check(self.run_upgrade(SQLITE_PATH=str(self.tmp / "upgrade.sqlite3")))

        @skipUnless(os.environ.get("DATABASE_URL"), "PostgreSQL: set DATABASE_URL")
        def test_postgresql(self) -> None:
            import psycopg

            url = os.environ["DATABASE_URL"]
            db = dj_database_url.parse(url)
            name = f"kc_upgrade_{os.getpid()}"
            with psycopg.connect(
                host=db["HOST"],
                port=db["PORT"] or 5432,
                user=db["USER"],
                password=db["PASSWORD"] or None,
                dbname="postgres",
                autocommit=True,
            ) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')
            try:
                self.check(self.run_upgrade(DATABASE_URL=url.rsplit("/", 1)[0] + "/" + name))
            finally:
                with psycopg.connect(
                    host=db["HOST"],
                    port=db["PORT"] or 5432,
                    user=db["USER"],
                    password=db["PASSWORD"] or None,
                    dbname="postgres",
                    autocommit=True,
                ) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
