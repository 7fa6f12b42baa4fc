"""Audit events are appended unsealed and sealed into their chain afterwards.

Appending no longer locks the chain head: an event is inserted with `seq`, `prev_hash`,
`hash` and `sealed_at` empty, and the sealing step fills them in once. The append-only
triggers now allow exactly that one update (every seal column from empty to set, nothing
else changed) and still refuse every other UPDATE and every DELETE. On SQLite, altering
the columns rebuilds the table, which drops its triggers, so both are created again here.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SEAL_COLUMNS = ("seq", "prev_hash", "hash", "sealed_at")
# Every other column of the table: a sealing update must leave each one as it was.
KEPT_COLUMNS = (
    "id",
    "chain",
    "at",
    "clinic_id",
    "user_id",
    "actor",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "detail",
)
_SEALING = " AND ".join(
    [f"OLD.{c} IS NULL AND NEW.{c} IS NOT NULL" for c in SEAL_COLUMNS]
    + [f"NEW.{c} IS OLD.{c}" for c in KEPT_COLUMNS]
)

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       WHEN NOT ({_SEALING})
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER audit_event_no_update",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]

# On PostgreSQL the row minus its seal columns must be unchanged, so a column added later
# is protected without changing this function.
_PG_SEAL_ARRAY = "ARRAY[" + ", ".join(f"'{c}'" for c in SEAL_COLUMNS) + "]"
_PG_SEALING = " AND ".join(
    [f"OLD.{c} IS NULL AND NEW.{c} IS NOT NULL" for c in SEAL_COLUMNS]
    + [f"(to_jsonb(OLD) - {_PG_SEAL_ARRAY}) = (to_jsonb(NEW) - {_PG_SEAL_ARRAY})"]
)
POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'UPDATE' AND {_PG_SEALING} THEN
               RETURN NEW;
           END IF;
           RAISE EXCEPTION 'audit events are append-only';
       END $$""",
]
POSTGRES_DOWN = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$""",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_against_bypasses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="sealed_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("hash__isnull", True)),
                fields=["chain", "id"],
                name="audit_unsealed",
            ),
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        ),
    ]
