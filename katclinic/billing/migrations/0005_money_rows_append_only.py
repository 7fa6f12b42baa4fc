"""Money rows are append-only in the database itself, not only in the code that writes them.

A posted charge line never changes (a reversal line points at it), a received payment never
changes, and refunds and payer postings are never changed or removed. SQLite refuses with
triggers (`INSERT OR REPLACE` included, since every connection turns on recursive triggers);
PostgreSQL with row triggers and the shared statement trigger that refuses TRUNCATE of a
table holding rows.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FROZEN = "money rows are append-only"
# (table, the SQL condition under which a row is frozen)
TABLES = [
    ("billing_chargeline", "OLD.status = 'posted'"),
    ("billing_payment", "OLD.status = 'completed'"),
    ("billing_refund", "1 = 1"),
    ("billing_payerposting", "1 = 1"),
]
TRUNCATE_REFUSED = [table for table, _ in TABLES]


def _sqlite_up() -> list[str]:
    statements = []
    for table, frozen in TABLES:
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"WHEN {frozen} BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END"
            )
    return statements


def _postgres_up() -> list[str]:
    statements = [
        "CREATE FUNCTION billing_money_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{FROZEN}' USING ERRCODE = '23000'; END $$"
    ]
    for table, frozen in TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW WHEN ({frozen}) EXECUTE FUNCTION billing_money_frozen()"
        )
    statements += [
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION katclinic_refuse_truncate()"
        for table in TRUNCATE_REFUSED
    ]
    return statements


SQLITE_DOWN = [
    f"DROP TRIGGER {table}_no_{event}" for table, _ in TABLES for event in ("update", "delete")
]
POSTGRES_DOWN = [
    *(f"DROP TRIGGER {table}_frozen ON {table}" for table, _ in TABLES),
    *(f"DROP TRIGGER {table}_no_truncate ON {table}" for table in TRUNCATE_REFUSED),
    "DROP FUNCTION billing_money_frozen()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_payer_posting"),
        ("audit", "0003_append_only_against_bypasses"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": _sqlite_up(), "postgresql": _postgres_up()}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
