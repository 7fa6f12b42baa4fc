"""Refuse UPDATE and DELETE on controlled-substance ledger entries in the database itself.

A mistake is put right with a correction entry, so the record of what happened stays whole.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SQLITE_UP = [
    """CREATE TRIGGER dosing_ledger_no_update BEFORE UPDATE ON dosing_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END""",
    """CREATE TRIGGER dosing_ledger_no_delete BEFORE DELETE ON dosing_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END""",
]
SQLITE_DOWN = ["DROP TRIGGER dosing_ledger_no_update", "DROP TRIGGER dosing_ledger_no_delete"]

POSTGRES_UP = [
    """CREATE FUNCTION dosing_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$""",
    """CREATE TRIGGER dosing_ledger_no_change BEFORE UPDATE OR DELETE ON dosing_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION dosing_ledger_append_only()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER dosing_ledger_no_change ON dosing_ledgerentry",
    "DROP FUNCTION dosing_ledger_append_only()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("dosing", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
