"""Refuse changes to signed intake records in the database itself.

A signed screening (signed_at set) and its trial rows, every eligibility decision,
consent document version, consent signature and withdrawal are append-only.
PostgreSQL raises with SQLSTATE 23000 so Django reports an IntegrityError, as SQLite's
RAISE(ABORT) does.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FROZEN_TABLES = [
    "intake_eligibilitydecision",
    "intake_consentdocument",
    "intake_consentsignature",
    "intake_consentwithdrawal",
]
SIGNED_SCREENING = "(SELECT signed_at FROM intake_screening WHERE id = {row}.screening_id) IS NOT NULL"

SQLITE_UP = [
    *(
        f"""CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
            BEGIN SELECT RAISE(ABORT, 'signed intake records cannot change'); END"""
        for table in FROZEN_TABLES
        for verb in ("update", "delete")
    ),
    """CREATE TRIGGER intake_screening_signed_no_update BEFORE UPDATE ON intake_screening
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'signed intake records cannot change'); END""",
    """CREATE TRIGGER intake_screening_signed_no_delete BEFORE DELETE ON intake_screening
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'signed intake records cannot change'); END""",
    *(
        f"""CREATE TRIGGER intake_trial_signed_no_{verb} BEFORE {verb.upper()} ON intake_antidepressanttrial
            WHEN {SIGNED_SCREENING.format(row=row)}
            BEGIN SELECT RAISE(ABORT, 'signed intake records cannot change'); END"""
        for verb, row in (("insert", "NEW"), ("update", "OLD"), ("delete", "OLD"))
    ),
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER {table}_no_{verb}" for table in FROZEN_TABLES for verb in ("update", "delete")),
    "DROP TRIGGER intake_screening_signed_no_update",
    "DROP TRIGGER intake_screening_signed_no_delete",
    *(f"DROP TRIGGER intake_trial_signed_no_{verb}" for verb in ("insert", "update", "delete")),
]

POSTGRES_UP = [
    """CREATE FUNCTION intake_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'signed intake records cannot change'
           USING ERRCODE = 'integrity_constraint_violation'; END $$""",
    """CREATE FUNCTION intake_screening_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.signed_at IS NOT NULL THEN
           RAISE EXCEPTION 'signed intake records cannot change'
           USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE FUNCTION intake_trial_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE target bigint;
       BEGIN
         IF TG_OP = 'INSERT' THEN target := NEW.screening_id; ELSE target := OLD.screening_id; END IF;
         IF (SELECT signed_at FROM intake_screening WHERE id = target) IS NOT NULL THEN
           RAISE EXCEPTION 'signed intake records cannot change'
           USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    *(
        f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION intake_frozen()"""
        for table in FROZEN_TABLES
    ),
    """CREATE TRIGGER intake_screening_signed BEFORE UPDATE OR DELETE ON intake_screening
       FOR EACH ROW EXECUTE FUNCTION intake_screening_frozen()""",
    """CREATE TRIGGER intake_trial_signed BEFORE INSERT OR UPDATE OR DELETE ON intake_antidepressanttrial
       FOR EACH ROW EXECUTE FUNCTION intake_trial_frozen()""",
]
POSTGRES_DOWN = [
    *(f"DROP TRIGGER {table}_no_change ON {table}" for table in FROZEN_TABLES),
    "DROP TRIGGER intake_screening_signed ON intake_screening",
    "DROP TRIGGER intake_trial_signed ON intake_antidepressanttrial",
    "DROP FUNCTION intake_frozen()",
    "DROP FUNCTION intake_screening_frozen()",
    "DROP FUNCTION intake_trial_frozen()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
