"""The Instrument table: shipped definitions synced in, clinic wording and FHIR imports added
as new rows, and the current definition for a clinic looked up (and parsed once)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import IntSetting, UnknownSetting, setting_named
from katclinic.lib import rows
from katclinic.measures.models import Instrument
from katclinic.measures.scoring import (
    DefinitionError,
    InstrumentDefinition,
    load_builtin_instruments,
    load_definition,
)

_PARSED: dict[tuple[int, str, str, int | None], InstrumentDefinition] = {}
_synced = False


def check_settings(definition: InstrumentDefinition) -> InstrumentDefinition:
    """Refuse a definition whose flag rule names no whole-number clinic setting."""
    for index, rule in enumerate(definition.flags):
        if rule.setting is None:
            continue
        try:
            setting_named(rule.setting, IntSetting)
        except UnknownSetting as exc:
            raise DefinitionError(
                f"instrument definition {definition.key}: flags[{index}].setting: {exc}"
            ) from None
    return definition


def _as_row(definition: InstrumentDefinition, clinic: Clinic | None = None) -> Instrument:
    return Instrument(
        key=definition.key,
        version=definition.version,
        clinic=clinic,
        title=definition.title,
        kind=definition.kind,
        licence=definition.licence,
        definition=definition.model_dump(mode="json", exclude_none=True),
    )


def sync_builtin_instruments() -> list[Instrument]:
    """Add any shipped (key, version) not yet in the table; return the rows added.

    A version already stored is left as it is, even if the file now differs: a
    definition in use is never changed in place (bump the version instead).
    """
    global _synced
    existing = set(Instrument.objects.filter(clinic__isnull=True).values_list("key", "version"))
    added = [
        _as_row(check_settings(d))
        for d in load_builtin_instruments().values()
        if (d.key, d.version) not in existing
    ]
    try:
        with transaction.atomic():
            Instrument.objects.bulk_create(added)
    except IntegrityError:
        added = []  # another process synced at the same moment
    _synced = True
    return added


def add_definition(definition: InstrumentDefinition, clinic: Clinic | None = None) -> Instrument:
    """Store a new version (e.g. clinic wording or a FHIR import); refuse to overwrite one."""
    check_settings(definition)
    same = Instrument.objects.filter(key=definition.key, version=definition.version)
    same = same.filter(clinic=clinic) if clinic is not None else same.filter(clinic__isnull=True)
    if same.exists():
        raise DefinitionError(
            f"{definition.key} {definition.version} is already stored; give the change a new version"
        )
    row = _as_row(definition, clinic)
    row.save(force_insert=True)
    return row


# What a parse is kept by: the row's id, key, version and clinic id (a reused id after a
# rolled-back test is then a different entry, never the old row's parse).
Identity = tuple[int, str, str, int | None]

# The columns a response read names its instrument by, to find the parse without a join
# to the (large) definition document: ``identity_of`` turns them into an ``Identity``.
IDENTITY_COLUMNS = (
    "instrument_id",
    "instrument__key",
    "instrument__version",
    "instrument__clinic_id",
)


def definition_of(instrument: Instrument) -> InstrumentDefinition:
    """The parsed definition of a row (rows never change, so it is parsed once per process).

    A row read without its ``definition`` column has it read only when this process has
    not parsed that row yet."""
    cache_key = _identity(instrument)
    parsed = _PARSED.get(cache_key)
    if parsed is None:
        parsed = check_settings(load_definition(instrument.definition, origin=str(instrument)))
        _PARSED[cache_key] = parsed
    return parsed


def definition_by_identity(
    pk: int, key: str, version: str, clinic_id: int | None
) -> InstrumentDefinition:
    """``definition_of`` for a row known by its identity columns only (``IDENTITY_COLUMNS``,
    read beside a response): the row is read, once per process, only when not yet parsed."""
    parsed = _PARSED.get((pk, key, version, clinic_id))
    if parsed is None:
        parsed = definition_of(Instrument.objects.get(pk=pk))
    return parsed


def current_instrument(key: str, clinic: Clinic | int) -> Instrument | None:
    """The newest version of ``key`` for a clinic: its own wording first, then the shipped one."""
    if not _synced:
        sync_builtin_instruments()
    clinic_id = clinic if isinstance(clinic, int) else clinic.pk
    row = _newest(key, clinic_id)
    if row is None and key in load_builtin_instruments():
        sync_builtin_instruments()  # the table was emptied since this process last synced
        row = _newest(key, clinic_id)
    return row


# The definition (a large JSON document) is read only when this process has not parsed
# that row yet: rows never change, and `definition_of` keeps the parse.
_LISTED = ("id", "key", "version", "title", "kind", "clinic_id", "created_at")
_LISTED_FIELDS = ("id", "key", "version", "title", "kind", "clinic", "created_at")


def _newest(key: str, clinic_id: int) -> Instrument | None:
    """The clinic's own newest version of ``key``, else the newest shipped one: one plain
    query, as every submission asks it (see katclinic.lib.rows)."""
    sql = (
        f"SELECT {rows.columns(Instrument, 'i', _LISTED)} FROM {rows.table(Instrument)} i "  # noqa: S608
        "WHERE i.key = %s AND (i.clinic_id = %s OR i.clinic_id IS NULL) "
        "ORDER BY CASE WHEN i.clinic_id IS NULL THEN 1 ELSE 0 END, i.created_at DESC, i.id DESC LIMIT 1"
    )
    found = rows.fetch_one(Instrument, sql, [key, clinic_id])
    return rows.hydrate(Instrument, found, only=_LISTED) if found is not None else None


def current_definitions(clinic: Clinic) -> dict[str, tuple[Instrument, InstrumentDefinition]]:
    """Every instrument's current version for a clinic, by key. The rows are read without
    their definition document, which ``definition_of`` reads only for a row not yet parsed."""
    query = (
        Instrument.objects.filter(Q(clinic=clinic) | Q(clinic__isnull=True))
        .only(*_LISTED_FIELDS)
        .order_by(F("clinic_id").asc(nulls_first=True), "created_at", "pk")
    )
    rows = list(query)
    if not rows:
        sync_builtin_instruments()
        rows = list(query.all())
    chosen: dict[str, Instrument] = {}
    for row in rows:
        chosen[row.key] = row  # later rows (clinic's own, newer) win
    _read_documents([row for row in chosen.values() if _identity(row) not in _PARSED])
    return {key: (row, definition_of(row)) for key, row in sorted(chosen.items())}


def _identity(instrument: Instrument) -> Identity:
    return (instrument.pk, instrument.key, instrument.version, instrument.clinic_id)


def _read_documents(rows: list[Instrument]) -> None:
    """Give rows read without their definition document that document, in one query."""
    if rows:
        documents = dict(
            Instrument.objects.filter(pk__in=[row.pk for row in rows]).values_list(
                "pk", "definition"
            )
        )
        for row in rows:
            row.definition = documents[row.pk]


def reset_cache() -> None:
    """Forget what was synced and parsed (tests roll the table back between cases)."""
    global _synced
    _synced = False
    _PARSED.clear()


def definition_json(definition: InstrumentDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


def require_instrument(key: str, clinic: Clinic | int) -> Instrument:
    """As ``current_instrument``, for keys known to exist; LookupError otherwise."""
    row = current_instrument(key, clinic)
    if row is None:
        raise LookupError(f"unknown instrument {key!r}")
    return row
