"""Instruments in the patient's language: versioned translations held as data.

A translation replaces only the words a patient reads (title, instructions, questions and
answer labels); items, answer values, scoring and alerts stay those of the instrument, so a
score never depends on the language it was answered in. Translations shipped with KAT Clinic
live in ``measures/translations/<key>.<language>.json``; a clinic loads another official
translation from its publisher's file (staff screen or ``load_instrument_translation``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.measures.models import InstrumentTranslation
from katclinic.measures.scoring import (
    InstrumentDefinition,
    load_builtin_instruments,
    load_definition,
)

SHIPPED_DIR = Path(__file__).resolve().parent / "translations"
MAX_TEXT = 2000
_PARSED: dict[tuple[Any, ...], InstrumentDefinition] = {}


class TranslationError(ValueError):
    """A translation file that cannot be stored; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def other_languages() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not " ".join(value.split()):
        raise TranslationError(field, f"Give the translated wording of {field}.")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT:
        raise TranslationError(field, f"Keep {field} under {MAX_TEXT} characters.")
    return text


def _answers(item: Any, given: object) -> dict[str, str]:
    values = [str(o.value) for o in item.answer_options]
    if not values:
        return {}
    if not isinstance(given, dict) or set(given) != set(values):
        raise TranslationError(
            item.link_id, f"Give a translated label for each answer of {item.link_id}."
        )
    return {v: _text(given[v], f"answer {v} of {item.link_id}") for v in values}


def checked_texts(definition: InstrumentDefinition, data: object) -> dict[str, Any]:
    """The translation's words, refused unless every question and answer is translated."""
    if not isinstance(data, dict):
        raise TranslationError("file", "Expected a translation document (a JSON object).")
    items, answers = data.get("items"), data.get("answers") or {}
    if not isinstance(items, dict) or not isinstance(answers, dict):
        raise TranslationError("items", "Give the questions as {question id: wording}.")
    unknown = sorted(set(items) - {item.link_id for item in definition.items})
    if unknown:
        raise TranslationError("items", f"Unknown question ids: {', '.join(unknown)}.")
    texts: dict[str, Any] = {"title": _text(data.get("title"), "title"), "items": {}}
    texts["answers"] = {}
    if definition.description:
        texts["description"] = _text(data.get("description"), "description")
    for item in definition.items:
        texts["items"][item.link_id] = _text(items.get(item.link_id), item.link_id)
        texts["answers"][item.link_id] = _answers(item, answers.get(item.link_id))
    return texts


def apply(definition: InstrumentDefinition, texts: dict[str, Any]) -> InstrumentDefinition:
    """The definition with the translation's words; everything that is scored is unchanged."""
    data = definition.model_dump(mode="json", exclude_none=True)
    data["title"] = texts["title"]
    if "description" in texts:
        data["description"] = texts["description"]
    for item in data["items"]:
        item["text"] = texts["items"][item["link_id"]]
        labels = texts["answers"].get(item["link_id"], {})
        for option in item.get("answer_options", []):
            option["display"] = labels.get(str(option["value"]), option["display"])
    return load_definition(data, origin=f"{definition.key} translated")


def _instrument(key: object) -> InstrumentDefinition:
    definition = load_builtin_instruments().get(str(key))
    if definition is None:
        raise TranslationError("key", f"There is no questionnaire called {key!r}.")
    return definition


def _language(code: object) -> str:
    if code not in dict(other_languages()):
        names = ", ".join(code for code, _ in other_languages())
        raise TranslationError("language", f"Choose one of the languages offered: {names}.")
    return str(code)


def _version(value: object) -> str:
    version = str(value or "").strip()
    if not version or len(version) > 40:
        raise TranslationError("version", "Give the translation's version (up to 40 characters).")
    return version


def _source(source: str, data: dict[str, object]) -> str:
    """Who publishes the translation: as given, else as the file names it; never empty."""
    found = " ".join(str(source or data.get("source") or "").split())
    if not found:
        raise TranslationError("source", "Name the publisher and where the official text is.")
    return found


def _create(
    *,
    definition: InstrumentDefinition,
    language: str,
    version: str,
    clinic: Clinic | None,
    texts: dict[str, Any],
    source: str,
    by: User | None,
) -> InstrumentTranslation:
    """The new row, or TranslationError when that version is already stored."""
    try:
        with transaction.atomic():
            return InstrumentTranslation.objects.create(
                key=definition.key,
                language=language,
                version=version,
                clinic=clinic,
                title=texts["title"],
                source=source,
                texts=texts,
                created_by=by,
            )
    except IntegrityError as exc:
        raise TranslationError(
            "version", f"Version {version} is already stored; give the new text a new version."
        ) from exc


@transaction.atomic
def store_translation(
    *,
    document: object,
    source: str,
    clinic: Clinic | None,
    by: User | None,
    request: HttpRequest | None = None,
) -> InstrumentTranslation:
    """Store a translation as a new version: for one clinic, or shipped (``clinic`` None)."""
    data = document if isinstance(document, dict) else {}
    definition = _instrument(data.get("key"))
    language, version = _language(data.get("language")), _version(data.get("version"))
    source = _source(source, data)
    texts = checked_texts(definition, document)
    row = _create(
        definition=definition,
        language=language,
        version=version,
        clinic=clinic,
        texts=texts,
        source=source,
        by=by,
    )
    if by is not None and clinic is not None:
        audit.record(
            request=request,
            user=by,
            action=Action.CREATE,
            clinic_id=clinic.pk,
            obj=row,
            detail={"instrument": row.key, "language": language, "version": version},
        )
    return row


@cache
def shipped_documents() -> tuple[dict[str, Any], ...]:
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED_DIR.glob("*.json"))
    )


def sync_shipped() -> list[InstrumentTranslation]:
    """Add any shipped translation version not yet stored (stored ones are never changed)."""
    stored = set(
        InstrumentTranslation.objects.filter(clinic__isnull=True).values_list(
            "key", "language", "version"
        )
    )
    added = []
    for document in shipped_documents():
        if (document["key"], document["language"], document["version"]) not in stored:
            added.append(store_translation(document=document, source="", clinic=None, by=None))
    return added


def newest(key: str, language: str, clinic_id: int | None) -> InstrumentTranslation | None:
    """The clinic's own newest translation, else the newest shipped one."""
    query = InstrumentTranslation.objects.filter(key=key, language=language)
    if clinic_id is not None:
        own = query.filter(clinic_id=clinic_id).order_by("-created_at", "-pk").first()
        if own is not None:
            return own
    shipped = query.filter(clinic__isnull=True).order_by("-created_at", "-pk").first()
    if shipped is None and any(
        d["key"] == key and d["language"] == language for d in shipped_documents()
    ):
        sync_shipped()
        shipped = query.filter(clinic__isnull=True).order_by("-created_at", "-pk").first()
    return shipped


def in_language(
    definition: InstrumentDefinition, language: str, clinic_id: int | None
) -> InstrumentDefinition:
    """What the patient reads: the instrument in `language` when a translation is stored,
    otherwise the instrument as written."""
    if language == settings.LANGUAGE_CODE or definition.kind != "self_report":
        return definition
    row = newest(definition.key, language, clinic_id)
    if row is None:
        return definition
    cache_key = (row.pk, row.version, row.created_at, definition.key, definition.version)
    parsed = _PARSED.get(cache_key)
    if parsed is None:
        parsed = apply(definition, row.texts)
        _PARSED[cache_key] = parsed
    return parsed


def wording_read(
    definition: InstrumentDefinition, language: str, clinic_id: int | None
) -> tuple[str, str]:
    """(language, translation version) of what `in_language` shows: the original's
    language and no version when no translation is used."""
    if language == settings.LANGUAGE_CODE or definition.kind != "self_report":
        return settings.LANGUAGE_CODE, ""
    row = newest(definition.key, language, clinic_id)
    return (language, row.version) if row is not None else (settings.LANGUAGE_CODE, "")


@dataclass(frozen=True)
class Coverage:
    definition: InstrumentDefinition
    language: str
    language_name: str
    translation: InstrumentTranslation | None


def coverage(clinic: Clinic) -> list[Coverage]:
    """Each questionnaire patients answer, in each offered language: the translation used."""
    sync_shipped()
    rows = InstrumentTranslation.objects.filter(Q(clinic=clinic) | Q(clinic__isnull=True))
    best: dict[tuple[str, str], InstrumentTranslation] = {}
    for row in rows.order_by("created_at", "pk"):
        current = best.get((row.key, row.language))
        if current is None or current.clinic_id is None or row.clinic_id is not None:
            best[(row.key, row.language)] = row
    found = []
    instruments = sorted(load_builtin_instruments().values(), key=lambda d: d.title)
    for definition in instruments:
        if definition.kind != "self_report":
            continue
        for code, name in other_languages():
            found.append(Coverage(definition, code, name, best.get((definition.key, code))))
    return found
