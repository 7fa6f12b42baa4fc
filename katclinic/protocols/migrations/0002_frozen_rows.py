"""Refuse, in the database itself, changes to what has been signed or relied on.

- A signed plan version never changes and is never deleted.
- Planned doses of a signed version are never added, changed or removed.
- A protocol version's data never changes while any plan uses it.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SQLITE_UP = [
    """CREATE TRIGGER plan_version_signed_frozen BEFORE UPDATE ON protocols_planversion
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'a signed plan version cannot change'); END""",
    """CREATE TRIGGER plan_version_signed_kept BEFORE DELETE ON protocols_planversion
       WHEN OLD.signed_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'a signed plan version cannot be deleted'); END""",
    """CREATE TRIGGER planned_dose_signed_insert BEFORE INSERT ON protocols_planneddose
       WHEN (SELECT signed_at FROM protocols_planversion WHERE id = NEW.version_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'doses of a signed plan version cannot change'); END""",
    """CREATE TRIGGER planned_dose_signed_update BEFORE UPDATE ON protocols_planneddose
       WHEN (SELECT signed_at FROM protocols_planversion WHERE id = OLD.version_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'doses of a signed plan version cannot change'); END""",
    """CREATE TRIGGER planned_dose_signed_delete BEFORE DELETE ON protocols_planneddose
       WHEN (SELECT signed_at FROM protocols_planversion WHERE id = OLD.version_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'doses of a signed plan version cannot change'); END""",
    """CREATE TRIGGER protocol_in_use_frozen BEFORE UPDATE OF data, key, version ON protocols_protocolversion
       WHEN EXISTS (SELECT 1 FROM protocols_plan WHERE protocol_version_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'a protocol version in use by a plan cannot change'); END""",
]
SQLITE_DOWN = [
    f"DROP TRIGGER {name}"
    for name in ("plan_version_signed_frozen", "plan_version_signed_kept", "planned_dose_signed_insert",
                 "planned_dose_signed_update", "planned_dose_signed_delete", "protocol_in_use_frozen")
]

POSTGRES_UP = [
    """CREATE FUNCTION protocols_plan_version_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.signed_at IS NOT NULL THEN
           RAISE EXCEPTION 'a signed plan version cannot change';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER plan_version_signed_frozen BEFORE UPDATE OR DELETE ON protocols_planversion
       FOR EACH ROW EXECUTE FUNCTION protocols_plan_version_frozen()""",
    """CREATE FUNCTION protocols_planned_dose_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE vid bigint;
       BEGIN
         IF TG_OP = 'INSERT' THEN vid := NEW.version_id; ELSE vid := OLD.version_id; END IF;
         IF EXISTS (SELECT 1 FROM protocols_planversion WHERE id = vid AND signed_at IS NOT NULL) THEN
           RAISE EXCEPTION 'doses of a signed plan version cannot change';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER planned_dose_signed_frozen BEFORE INSERT OR UPDATE OR DELETE ON protocols_planneddose
       FOR EACH ROW EXECUTE FUNCTION protocols_planned_dose_frozen()""",
    """CREATE FUNCTION protocols_protocol_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (NEW.data IS DISTINCT FROM OLD.data OR NEW.key <> OLD.key OR NEW.version <> OLD.version)
            AND EXISTS (SELECT 1 FROM protocols_plan WHERE protocol_version_id = OLD.id) THEN
           RAISE EXCEPTION 'a protocol version in use by a plan cannot change';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER protocol_in_use_frozen BEFORE UPDATE ON protocols_protocolversion
       FOR EACH ROW EXECUTE FUNCTION protocols_protocol_in_use()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER plan_version_signed_frozen ON protocols_planversion",
    "DROP FUNCTION protocols_plan_version_frozen()",
    "DROP TRIGGER planned_dose_signed_frozen ON protocols_planneddose",
    "DROP FUNCTION protocols_planned_dose_frozen()",
    "DROP TRIGGER protocol_in_use_frozen ON protocols_protocolversion",
    "DROP FUNCTION protocols_protocol_in_use()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("protocols", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
