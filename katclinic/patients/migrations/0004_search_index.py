"""Indexes that find a search's candidates without reading the whole clinic.

PostgreSQL: pg_trgm GIN indexes on exactly the expressions PatientQuerySet.search
compares (UPPER(...) for the case-insensitive fields, the phone with its punctuation
removed), so the planner answers each OR arm from an index. The extension is created
here when missing, which needs a user allowed to create it (or it must exist already).

SQLite: an FTS5 table with the trigram tokenizer, one row per patient (rowid = patient
id), kept in step by triggers; search() takes its candidate ids from it and then applies
the same rule. The phone column holds the phone with the characters
katclinic.patients.models._digits_only removes removed the same way.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from katclinic.lib.vendor_sql import vendor_sql

COLUMNS = "mrn, first_name, last_name, preferred_name, email, phone_digits, date_of_birth"


def _digits(phone: str) -> str:
    expression = f"replace({phone}, ' ', '')"
    for character in "+-().":
        expression = f"replace({expression}, '{character}', '')"
    return expression


def _values(row: str) -> str:
    return (
        f"{row}.id, {row}.mrn, {row}.first_name, {row}.last_name, {row}.preferred_name, "
        f"{row}.email, {_digits(f'{row}.phone')}, {row}.date_of_birth"
    )


SQLITE_UP = [
    "CREATE VIRTUAL TABLE patients_patient_search USING fts5("
    f"{COLUMNS}, tokenize='trigram')",
    f"INSERT INTO patients_patient_search(rowid, {COLUMNS}) "
    f"SELECT {_values('p')} FROM patients_patient p",
    "CREATE TRIGGER patients_patient_search_insert AFTER INSERT ON patients_patient BEGIN "
    f"INSERT INTO patients_patient_search(rowid, {COLUMNS}) VALUES ({_values('NEW')}); END",
    "CREATE TRIGGER patients_patient_search_update AFTER UPDATE OF "
    "id, mrn, first_name, last_name, preferred_name, email, phone, date_of_birth "
    "ON patients_patient BEGIN "
    "DELETE FROM patients_patient_search WHERE rowid = OLD.id; "
    f"INSERT INTO patients_patient_search(rowid, {COLUMNS}) VALUES ({_values('NEW')}); END",
    "CREATE TRIGGER patients_patient_search_delete AFTER DELETE ON patients_patient BEGIN "
    "DELETE FROM patients_patient_search WHERE rowid = OLD.id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER patients_patient_search_delete",
    "DROP TRIGGER patients_patient_search_update",
    "DROP TRIGGER patients_patient_search_insert",
    "DROP TABLE patients_patient_search",
]

_PG_INDEXES = {
    "patient_search_mrn_trgm": 'UPPER("mrn"::text)',
    "patient_search_first_trgm": 'UPPER("first_name"::text)',
    "patient_search_last_trgm": 'UPPER("last_name"::text)',
    "patient_search_preferred_trgm": 'UPPER("preferred_name"::text)',
    "patient_search_email_trgm": 'UPPER("email"::text)',
    "patient_search_phone_trgm": _digits('"phone"'),
}
POSTGRES_UP = [
    *(
        f'CREATE INDEX "{name}" ON "patients_patient" USING gin (({expression}) gin_trgm_ops)'
        for name, expression in _PG_INDEXES.items()
    ),
    # Expression indexes have no statistics until the table is analysed.
    'ANALYZE "patients_patient"',
]
POSTGRES_DOWN = [f'DROP INDEX "{name}"' for name in _PG_INDEXES]


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_imported_detail"),
    ]

    operations = [
        TrigramExtension(),
        vendor_sql(
            forward={"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP},
            backward={"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN},
        ),
    ]
