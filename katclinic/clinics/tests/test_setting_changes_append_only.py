"""A setting's change history is refused changes by the database itself: an ORM update or
delete, raw SQL, SQLite's INSERT OR REPLACE and PostgreSQL's TRUNCATE all fail, and the
history reads as it was written."""

from __future__ import annotations

from django.db import DatabaseError, IntegrityError, connection, transaction

from katclinic.clinics.models import ClinicSettingChange
from katclinic.clinics.registry import set_setting
from katclinic.dosing.clinic_settings import PRE_SYSTOLIC_MAX
from katclinic.testing import ClinicTestCase

TABLE = "clinics_clinicsettingchange"


class SettingChangesAppendOnlyTest(ClinicTestCase):
    def setUp(self) -> None:
        for raw, reason in (("150", "first"), ("145", "second")):
            set_setting(
                clinic=self.clinic, key=PRE_SYSTOLIC_MAX.key, raw=raw, by=self.adam, reason=reason
            )
        self.change = ClinicSettingChange.objects.get(reason="first")

    def history(self) -> list[tuple[object, object, str]]:
        rows = ClinicSettingChange.objects.order_by("pk")
        return list(rows.values_list("old_value", "new_value", "reason"))

    def refused(self, sql: str, params: list[int]) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)

    def test_orm_updates_and_deletes_are_refused(self) -> None:
        rows = ClinicSettingChange.objects.filter(clinic=self.clinic)
        with self.assertRaises(DatabaseError), transaction.atomic():
            rows.update(reason="rewritten")
        with self.assertRaises(DatabaseError), transaction.atomic():
            rows.delete()
        self.assertEqual(self.history(), [(None, 150, "first"), (150, 145, "second")])

    def test_raw_sql_updates_and_deletes_are_refused(self) -> None:
        pk = self.change.pk
        self.refused(f"UPDATE {TABLE} SET reason = 'rewritten' WHERE id = %s", [pk])  # noqa: S608
        self.refused(f"DELETE FROM {TABLE} WHERE id = %s", [pk])  # noqa: S608
        self.assertEqual(self.history(), [(None, 150, "first"), (150, 145, "second")])

    def test_a_new_change_is_still_appended(self) -> None:
        set_setting(
            clinic=self.clinic, key=PRE_SYSTOLIC_MAX.key, raw="140", by=self.adam, reason="back"
        )
        self.assertEqual(self.history()[-1], (145, 140, "back"))

    def test_insert_or_replace_cannot_rewrite_a_change_on_sqlite(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("INSERT OR REPLACE is SQLite's")
        columns = [str(f.column) for f in ClinicSettingChange._meta.concrete_fields]
        changed = ["'rewritten'" if c == "reason" else c for c in columns]
        with self.assertRaises(IntegrityError), transaction.atomic(), connection.cursor() as c:
            c.execute(
                f"INSERT OR REPLACE INTO {TABLE} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(changed)} FROM {TABLE} WHERE id = %s",
                [self.change.pk],
            )
        self.assertEqual(self.history(), [(None, 150, "first"), (150, 145, "second")])

    def test_truncate_is_refused_on_postgresql(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("TRUNCATE triggers are PostgreSQL's")
        self.refused(f"TRUNCATE {TABLE} CASCADE", [])
        self.assertEqual(self.history(), [(None, 150, "first"), (150, 145, "second")])
