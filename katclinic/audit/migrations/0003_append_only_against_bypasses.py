"""Append-only tables refuse TRUNCATE on PostgreSQL.

Row triggers do not fire for TRUNCATE, so until now `TRUNCATE audit_auditevent` (or the
ledger) emptied an append-only table. A statement trigger refuses it while the table holds
rows; an empty table may still be truncated, which loses nothing and lets a test database
be flushed. On SQLite the matching bypass, `INSERT OR REPLACE`, is closed by turning on
`recursive_triggers` for every connection (settings), so the replaced row's delete trigger
fires.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

APPEND_ONLY_TABLES = [
    "audit_auditevent",
    "dosing_ledgerentry",
    "intake_screening",
    "intake_antidepressanttrial",
    "intake_eligibilitydecision",
    "intake_consentdocument",
    "intake_consentsignature",
    "intake_consentwithdrawal",
    "protocols_planversion",
    "protocols_planneddose",
]

# Percent signs are doubled: the migration runs it through the driver's parameter style.
FUNCTION = """CREATE FUNCTION katclinic_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE has_rows boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %%I.%%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION '%% is append-only and cannot be truncated', TG_TABLE_NAME
            USING ERRCODE = '23000';
    END IF;
    RETURN NULL;
END $$"""

POSTGRES_UP = [
    FUNCTION,
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION katclinic_refuse_truncate()"
        for table in APPEND_ONLY_TABLES
    ),
]
POSTGRES_DOWN = [
    *(f"DROP TRIGGER {table}_no_truncate ON {table}" for table in APPEND_ONLY_TABLES),
    "DROP FUNCTION katclinic_refuse_truncate()",
]


def _run(statements: list[str]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
        ("dosing", "0002_ledger_append_only"),
        ("intake", "0002_signed_rows_are_frozen"),
        ("protocols", "0002_frozen_rows"),
    ]

    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
