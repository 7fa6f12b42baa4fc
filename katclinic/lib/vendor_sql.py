"""Statements written once per database, for migrations that install triggers.

The append-only and frozen-row rules (audit events, setting changes, money rows, signed
records) are triggers, and SQLite and PostgreSQL write triggers differently, so each such
migration carries both spellings. A new one builds its operation here:

    operations = [
        vendor_sql(
            forward={"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP},
            backward={"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN},
        )
    ]

Both databases the project runs on must be named (an empty list says "nothing to do
there"), so a rule cannot be written for one and forgotten for the other; on any other
database the migration stops rather than leave the rule out.

Migrations that already landed keep their own copy of this helper: they are never edited.
Because new migrations import this module, what it does must never change; a different
behaviour is a new function beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.db import NotSupportedError, migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

VENDORS = ("sqlite", "postgresql")

Apply = Callable[[StateApps, BaseDatabaseSchemaEditor], None]


def run_for_vendor(statements: Mapping[str, Sequence[str]]) -> Apply:
    """A RunPython function executing the connection's own statements, in order."""
    missing = [vendor for vendor in VENDORS if vendor not in statements]
    if missing:
        raise ValueError(f"no statements for {', '.join(missing)}; give [] if none are needed")
    frozen = {vendor: tuple(sql) for vendor, sql in statements.items()}

    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in frozen:
            raise NotSupportedError(f"this migration has no statements for {vendor}")
        for sql in frozen[vendor]:
            schema_editor.execute(sql)

    return apply


def vendor_sql(
    *, forward: Mapping[str, Sequence[str]], backward: Mapping[str, Sequence[str]]
) -> migrations.RunPython:
    """A migration operation running `forward` on migrate and `backward` on unapply."""
    return migrations.RunPython(run_for_vendor(forward), run_for_vendor(backward))
