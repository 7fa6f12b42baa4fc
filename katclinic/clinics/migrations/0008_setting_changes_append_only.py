"""A clinic setting's change history is append-only in the database itself.

The model used to refuse a second save() and a delete() in Python, which a queryset
update or delete, raw SQL or a cascade passed by. SQLite now refuses UPDATE and DELETE
with triggers (`INSERT OR REPLACE` included, since every connection turns on recursive
triggers); PostgreSQL with a row trigger and the shared statement trigger that refuses
TRUNCATE of a table holding rows.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TABLE = "clinics_clinicsettingchange"
FROZEN = "setting changes are append-only"

SQLITE_UP = [
    f"CREATE TRIGGER {TABLE}_no_{event.lower()} BEFORE {event} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END"
    for event in ("UPDATE", "DELETE")
]
POSTGRES_UP = [
    "CREATE FUNCTION clinics_setting_change_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{FROZEN}' USING ERRCODE = '23000'; END $$",
    f"CREATE TRIGGER {TABLE}_frozen BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION clinics_setting_change_frozen()",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION katclinic_refuse_truncate()",
]
SQLITE_DOWN = [f"DROP TRIGGER {TABLE}_no_{event}" for event in ("update", "delete")]
POSTGRES_DOWN = [
    f"DROP TRIGGER {TABLE}_frozen ON {TABLE}",
    f"DROP TRIGGER {TABLE}_no_truncate ON {TABLE}",
    "DROP FUNCTION clinics_setting_change_frozen()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0007_merge_0004_billing_role_0006_merge_20261202_0210"),
        ("audit", "0003_append_only_against_bypasses"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
