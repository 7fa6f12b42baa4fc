"""Append-only tables stay append-only against the bypasses an intruder with database
access would try: INSERT OR REPLACE on SQLite and TRUNCATE on PostgreSQL."""

import importlib

from django.db import DatabaseError, IntegrityError, connection, transaction

from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditEvent
from katclinic.dosing.models import LedgerEntry
from katclinic.dosing.tests import factories as f
from katclinic.intake.models import ConsentSignature, EligibilityDecision, Screening
from katclinic.intake.services import withdraw_consent
from katclinic.intake.tests.access_spec import new_signed
from katclinic.protocols.models import PlanVersion
from katclinic.testing import ClinicTestCase

# The migration is named by number, so it is loaded by its module path (test code only).
APPEND_ONLY_TABLES: list[str] = importlib.import_module(
    "katclinic.audit.migrations.0003_append_only_against_bypasses"
).APPEND_ONLY_TABLES


class AppendOnlyBypassTest(ClinicTestCase):
    def fill(self) -> None:
        audit.record(request=None, user=self.nick, action=Action.VIEW, clinic_id=self.clinic.pk)
        f.stock(self.clinic, self.nick, mg="2800")
        f.consent(self.pat, self.nick)
        f.consent(self.quinn, self.nick)
        withdraw_consent(
            signature=ConsentSignature.objects.get(patient=self.quinn), reason="moved", by=self.nick
        )
        f.signed_plan(self.pat, self.paula)
        new_signed(self)

    def rows_of(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (fixed table names)
            return cursor.fetchone()[0]

    def test_every_append_only_table_has_rows_to_attack(self) -> None:
        self.fill()
        empty = [t for t in APPEND_ONLY_TABLES if t != "intake_antidepressanttrial"]
        self.assertEqual([t for t in empty if self.rows_of(t) == 0], [])

    def test_insert_or_replace_cannot_rewrite_a_row_on_sqlite(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("INSERT OR REPLACE is SQLite's")
        self.fill()
        receipt = LedgerEntry.objects.get(kind="receipt")
        columns = [str(c.column) for c in LedgerEntry._meta.concrete_fields]
        changed = ["28" if c == "quantity_mg" else c for c in columns]
        with self.assertRaises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT OR REPLACE INTO dosing_ledgerentry ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(changed)} FROM dosing_ledgerentry WHERE id = %s",
                    [receipt.pk],
                )
        receipt.refresh_from_db()
        self.assertEqual(receipt.quantity_mg, 2800)

    def test_every_table_refuses_replacing_its_rows_on_sqlite(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("INSERT OR REPLACE is SQLite's")
        self.fill()
        for table in APPEND_ONLY_TABLES:
            if self.rows_of(table) == 0:
                continue
            with self.subTest(table=table), self.assertRaises(IntegrityError):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}"  # noqa: S608
                    )

    def test_every_connection_turns_on_recursive_triggers_on_sqlite(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("a SQLite setting")
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA recursive_triggers")
            self.assertEqual(cursor.fetchone()[0], 1)

    def test_truncate_is_refused_on_postgresql(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("TRUNCATE triggers are PostgreSQL's")
        self.fill()
        before = {t: self.rows_of(t) for t in APPEND_ONLY_TABLES}
        for table, count in before.items():
            if count == 0:
                continue
            with self.subTest(table=table), self.assertRaises(DatabaseError):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"TRUNCATE {table} CASCADE")
        self.assertEqual({t: self.rows_of(t) for t in APPEND_ONLY_TABLES}, before)
        self.assertTrue(AuditEvent.objects.exists())
        self.assertTrue(Screening.objects.exists() and EligibilityDecision.objects.exists())
        self.assertTrue(PlanVersion.objects.exists())

    def test_every_append_only_table_has_its_truncate_trigger_on_postgresql(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("TRUNCATE triggers are PostgreSQL's")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s",
                ["%_no_truncate"],
            )
            protected = {row[0] for row in cursor.fetchall()}
        self.assertEqual(sorted(set(APPEND_ONLY_TABLES) - protected), [])
