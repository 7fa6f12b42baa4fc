"""The per-database statement helper for trigger migrations, run against the test database."""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from django.db.migrations.state import ProjectState
from django.test import SimpleTestCase, TestCase

from katclinic.lib.vendor_sql import run_for_vendor, vendor_sql

TABLE = "lib_vendor_sql_probe"
REFUSED = "probe rows are append-only"
FORWARD = {
    "sqlite": [
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION lib_vendor_sql_probe_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{REFUSED}' USING ERRCODE = '23000'; END $$",
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION lib_vendor_sql_probe_frozen()",
    ],
}
BACKWARD = {
    "sqlite": [f"DROP TRIGGER {TABLE}_no_delete"],
    "postgresql": [
        f"DROP TRIGGER {TABLE}_no_delete ON {TABLE}",
        "DROP FUNCTION lib_vendor_sql_probe_frozen()",
    ],
}


class VendorSqlTest(TestCase):
    def setUp(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, note varchar(20))")
            cursor.execute("INSERT INTO lib_vendor_sql_probe (id, note) VALUES (1, 'kept')")
        self.operation = vendor_sql(forward=FORWARD, backward=BACKWARD)
        self.state = ProjectState()

    def rows(self) -> list[tuple[int, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, note FROM lib_vendor_sql_probe ORDER BY id")
            return [(row[0], row[1]) for row in cursor.fetchall()]

    def delete_all(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM lib_vendor_sql_probe")

    def test_forward_installs_this_databases_trigger_and_backward_removes_it(self) -> None:
        editor = connection.schema_editor()
        self.operation.database_forwards("lib", editor, self.state, self.state)
        with self.assertRaisesMessage(DatabaseError, REFUSED):
            self.delete_all()
        self.assertEqual(self.rows(), [(1, "kept")])

        self.operation.database_backwards("lib", editor, self.state, self.state)
        self.delete_all()
        self.assertEqual(self.rows(), [])


class VendorSqlDeclarationTest(SimpleTestCase):
    def test_a_migration_naming_one_database_only_is_refused_when_written(self) -> None:
        with self.assertRaisesMessage(ValueError, "no statements for postgresql"):
            vendor_sql(forward={"sqlite": []}, backward={"sqlite": [], "postgresql": []})
        with self.assertRaisesMessage(ValueError, "no statements for sqlite, postgresql"):
            run_for_vendor({})
