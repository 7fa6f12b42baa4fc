"""A clinic's full export, for a clinic that moves to another system, and the same export
of one patient's whole record (their electronic health information, asked for by the
patient or for them).

Every table with a clinic key is found from the installed models (so a new table cannot be
forgotten), written as one JSON-lines file per table, with `schema.json` and `README.txt`
documenting each table and column from the models' own descriptions. Link and token
hashes are left out: they open nothing outside this install. A patient's export holds the
rows of each table that belong to the patient: those whose foreign keys lead to the patient
(a dose through its session, a claim line through its claim) or that name the patient.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.patients.models import Patient

# Columns that hold a credential's hash: useless outside this install, and not to be spread.
WITHHELD = frozenset({"token_hash", "secret", "code_hash", "password"})
BATCH = 2000
SPOOL_BYTES = 32 * 1024 * 1024


def clinic_models() -> list[type[models.Model]]:
    """Every installed model with a clinic key (a `clinic` relation or a `clinic_id` column)."""
    found = []
    for model in apps.get_models():
        attnames = {f.attname for f in model._meta.concrete_fields}
        if "clinic_id" in attnames:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def table_name(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if f.name not in WITHHELD]


def _describe(model: type[models.Model]) -> dict[str, Any]:
    columns = []
    for f in _columns(model):
        column: dict[str, Any] = {
            "name": f.attname,
            "label": str(f.verbose_name),
            "type": f.get_internal_type(),
            "nullable": f.null,
        }
        if f.help_text:
            column["description"] = str(f.help_text)
        if f.is_relation and f.related_model is not None:
            column["refers_to"] = table_name(f.related_model)
        if f.choices:
            column["choices"] = {str(k): str(v) for k, v in f.flatchoices}
        columns.append(column)
    withheld = sorted(f.attname for f in model._meta.concrete_fields if f.name in WITHHELD)
    return {
        "table": table_name(model),
        "title": str(model._meta.verbose_name_plural).capitalize(),
        "description": " ".join((model.__doc__ or "").split()),
        "file": f"tables/{table_name(model)}.jsonl",
        "columns": columns,
        "withheld_columns": withheld,
    }


def _rows(queryset: models.QuerySet[Any], names: list[str]) -> Iterator[dict[str, Any]]:
    yield from queryset.order_by("pk").values(*names).iterator(chunk_size=BATCH)


def _write_table(archive: zipfile.ZipFile, name: str, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with archive.open(name, "w", force_zip64=True) as out:
        for row in rows:
            out.write(json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False).encode())
            out.write(b"\n")
            count += 1
    return count


def file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _write_attachments(
    archive: zipfile.ZipFile, model: type[models.Model], rows: models.QuerySet[Any]
) -> int:
    """Each stored file of ``rows`` under attachments/<table>/<column>/; the row's column
    holds the same relative name, so a row finds its file."""
    count = 0
    for field in file_fields(model):
        for row in rows.exclude(**{field.name: ""}):
            stored = getattr(row, field.name)
            target = f"attachments/{table_name(model)}/{field.name}/{stored.name}"
            # Copied in chunks: a scanned document need not be held in memory whole.
            with stored.open("rb") as source, archive.open(target, "w") as out:
                shutil.copyfileobj(source, out)
            count += 1
    return count


def _people(clinic: Clinic) -> models.QuerySet[User]:
    staff_ids = StaffMembership.objects.filter(clinic=clinic).values("user_id")
    patient_ids = Patient.objects.filter(clinic=clinic, user__isnull=False).values("user_id")
    return User.objects.filter(models.Q(pk__in=staff_ids) | models.Q(pk__in=patient_ids))


PEOPLE_COLUMNS = ["id", "email", "full_name", "kind", "is_active", "date_joined", "last_login"]


def _readme(heading: str, tables: list[dict[str, Any]], at: str) -> str:
    lines = [
        f"{heading}, made {at} (UTC).",
        "",
        "Each table is a file in tables/ with one JSON object per line; column names are",
        "the database columns. Ids ending in _id refer to the id column of the table named",
        "in schema.json. Dates and times are ISO 8601 in UTC. people.jsonl lists the staff",
        "and portal accounts the rows refer to. Hashes of links and access tokens are",
        "withheld: they open nothing outside this system.",
        "",
    ]
    for table in tables:
        lines.append(f"{table['file']}: {table['title']} ({table['rows']} rows)")
        if table["description"]:
            lines.append(f"  {table['description']}")
        for column in table["columns"]:
            text = f"  - {column['name']} ({column['type']}): {column['label']}"
            if column.get("description"):
                text += f". {column['description']}"
            if column.get("refers_to"):
                text += f" Refers to {column['refers_to']}."
            lines.append(text)
        if table["withheld_columns"]:
            lines.append(f"  Withheld: {', '.join(table['withheld_columns'])}")
        lines.append("")
    return "\n".join(lines)


def _people_table(
    archive: zipfile.ZipFile, description: str, people: models.QuerySet[User]
) -> dict[str, Any]:
    """The accounts the rows refer to, without their password hashes."""
    table: dict[str, Any] = {
        "table": "people",
        "title": "People",
        "description": description,
        "file": "people.jsonl",
        "columns": [c for c in _describe(User)["columns"] if c["name"] in PEOPLE_COLUMNS],
        "withheld_columns": ["password"],
    }
    table["rows"] = _write_table(archive, "people.jsonl", _rows(people, PEOPLE_COLUMNS))
    return table


def _write_documentation(
    archive: zipfile.ZipFile, schema: dict[str, Any], heading: str, at: str
) -> None:
    """`schema.json` and `README.txt`, describing every table written."""
    archive.writestr("schema.json", json.dumps(schema, indent=2, ensure_ascii=False))
    archive.writestr("README.txt", _readme(heading, schema["tables"], at))


def _clinic_tables(archive: zipfile.ZipFile, clinic: Clinic) -> list[dict[str, Any]]:
    """The clinic's own row, the people, then every table with a clinic key."""
    clinic_table = _describe(Clinic) | {"file": "tables/clinics.clinic.jsonl"}
    names = [c["name"] for c in clinic_table["columns"]]
    clinic_table["rows"] = _write_table(
        archive, clinic_table["file"], _rows(Clinic.objects.filter(pk=clinic.pk), names)
    )
    tables = [
        clinic_table,
        _people_table(
            archive, "Staff and portal accounts that the rows refer to.", _people(clinic)
        ),
    ]
    for model in clinic_models():
        table = _describe(model)
        names = [c["name"] for c in table["columns"]]
        rows = _rows(model._default_manager.filter(clinic_id=clinic.pk), names)
        table["rows"] = _write_table(archive, table["file"], rows)
        attached = _write_attachments(
            archive, model, model._default_manager.filter(clinic_id=clinic.pk)
        )
        if attached:
            table["attachments"] = attached
        tables.append(table)
    return tables


def export_clinic(*, clinic: Clinic, by: User, request: HttpRequest | None = None) -> IO[bytes]:
    """Write the clinic's export to a temporary file (rewound) and audit it as one export."""
    # Memory for a small clinic, a temporary file beyond; the response streams and closes it.
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    at = timezone.now().isoformat()
    with transaction.atomic(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        tables = _clinic_tables(archive, clinic)
        schema = {"clinic": clinic.name, "exported_at": at, "tables": tables}
        _write_documentation(archive, schema, f"Export of {clinic.name}", at)
        audit.record(
            request=request,
            user=by,
            action=Action.EXPORT,
            clinic_id=clinic.pk,
            object_type="clinic",
            object_id=str(clinic.pk),
            detail={
                "export": "full clinic export",
                "tables": {t["table"]: t["rows"] for t in tables},
            },
        )
    out.seek(0)
    return out


PATIENT_DEPTH = 3


def patient_lookup(model: type[models.Model]) -> str | None:
    """How the model's rows find their patient: ``pk`` for the patients table, a field
    naming the patient (``patient``, ``patient_id``), or a chain of foreign keys through
    the clinic's tables (``session__patient``), the shortest first, at most three deep.
    None when the table holds no one's record (settings, protocols, stock)."""
    if model is Patient:
        return "pk"
    fields = {f.attname: f for f in model._meta.concrete_fields}
    plain = fields.get("patient_id")
    if plain is not None and not plain.is_relation:
        return "patient_id"  # a patient named by number (the audit trail)
    level: list[tuple[type[models.Model], str]] = [(model, "")]
    seen: set[type[models.Model]] = {model}
    for _ in range(PATIENT_DEPTH):
        deeper = []
        for current, prefix in level:
            for f in current._meta.concrete_fields:
                target = f.related_model if f.is_relation else None
                if not isinstance(target, type) or not (f.many_to_one or f.one_to_one):
                    continue
                if target is Patient:
                    return f"{prefix}{f.name}"
                attnames = {g.attname for g in target._meta.concrete_fields}
                if target not in seen and target is not Clinic and "clinic_id" in attnames:
                    seen.add(target)
                    deeper.append((target, f"{prefix}{f.name}__"))
        level = deeper
    return None


def _account_columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in _columns(model) if f.is_relation and f.related_model is User]


def _patient_table(
    archive: zipfile.ZipFile,
    model: type[models.Model],
    lookup: str,
    patient: Patient,
    accounts: set[int],
) -> dict[str, Any]:
    """The patient's rows of `model` with their attachments; the accounts they name are
    added to `accounts`."""
    rows = model._default_manager.filter(clinic_id=patient.clinic_id, **{lookup: patient.pk})
    table = _describe(model) | {"patient_link": lookup}
    names = [c["name"] for c in table["columns"]]
    table["rows"] = _write_table(archive, table["file"], _rows(rows, names))
    if columns := _account_columns(model):
        for ids in rows.values_list(*columns):
            accounts |= {pk for pk in ids if pk is not None}
    attached = _write_attachments(archive, model, rows)
    if attached:
        table["attachments"] = attached
    return table


def _patient_tables(archive: zipfile.ZipFile, patient: Patient) -> list[dict[str, Any]]:
    """The patient's own row first, their rows of every other table, then the people."""
    accounts: set[int] = {patient.user_id} if patient.user_id else set()
    ordered: list[type[models.Model]] = [Patient]
    ordered += [m for m in clinic_models() if m is not Patient]
    tables = []
    for model in ordered:
        lookup = patient_lookup(model)
        if lookup is not None:
            tables.append(_patient_table(archive, model, lookup, patient, accounts))
    tables.append(
        _people_table(
            archive,
            "The patient's portal account and the staff the rows refer to.",
            User.objects.filter(pk__in=accounts),
        )
    )
    return tables


def export_patient(*, patient: Patient, by: User, request: HttpRequest | None = None) -> IO[bytes]:
    """One patient's whole record in the clinic export's format (a temporary file, rewound),
    audited as one export of that patient."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    at = timezone.now().isoformat()
    clinic = patient.clinic
    with transaction.atomic(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        tables = _patient_tables(archive, patient)
        schema = {
            "clinic": clinic.name,
            "patient": {"id": patient.pk, "mrn": patient.mrn},
            "exported_at": at,
            "tables": tables,
        }
        heading = f"Record of {patient.full_name} ({patient.mrn}) at {clinic.name}"
        _write_documentation(archive, schema, heading, at)
        audit.record(
            request=request,
            user=by,
            action=Action.EXPORT,
            clinic_id=clinic.pk,
            patient_id=patient.pk,
            object_type="patients.patient",
            object_id=str(patient.pk),
            detail={
                "export": "patient record export",
                "tables": {t["table"]: t["rows"] for t in tables},
            },
        )
    out.seek(0)
    return out
