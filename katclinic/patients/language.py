"""The language a patient reads: kept on their record, used for their pages and messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import pgettext

from katclinic.patients.models import Patient


def language_codes() -> frozenset[str]:
    return frozenset(code for code, _ in settings.LANGUAGES)


def language_of(patient: Patient | None) -> str:
    """The patient's language, or the clinic default when none (or an unknown one) is kept."""
    code = getattr(patient, "preferred_language", "") or ""
    return code if code in language_codes() else settings.LANGUAGE_CODE


@contextmanager
def in_language_of(patient: Patient | None) -> Iterator[str]:
    """Render or send something for `patient` in their language (restored afterwards)."""
    code = language_of(patient)
    with translation.override(code):
        yield code


def long_date(value: date | datetime) -> str:
    """A date written out in the active language: "Monday 07 December 2026" or
    "lunes 7 de diciembre de 2026" (Django's date format characters, translated per language)."""
    return formats.date_format(value, pgettext("long date format", "l d F Y"))


def clock(value: datetime) -> str:
    """The time of day on the 24-hour clock, as both languages write it in messages."""
    return formats.time_format(value, "H:i")
