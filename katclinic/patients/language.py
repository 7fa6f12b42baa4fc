"""The language a patient reads: kept on their record, used for their pages and messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

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
