"""The patient's portal home is built from cards, like the staff worklists.

A card's function gets the request and the patient and returns what to show, or None to
hide the card. The cards and their order are the fixed list `katclinic.portal.cards.CARDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import Promise

from katclinic.patients.models import Patient


@dataclass(frozen=True)
class Line:
    text: str
    url: str = ""
    detail: str = ""
    # "warn" marks something the patient should do soon (e.g. a form due today).
    level: str = ""
    # Extra plain sentences shown under the line (e.g. preparation steps).
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class CardContent:
    lines: Sequence[Line] = ()
    empty: str = ""
    link: str = ""
    link_label: str = ""


@dataclass(frozen=True)
class Card:
    key: str
    title: str | Promise  # shown in the patient's language: a lazy translation
    content: Callable[[HttpRequest, Patient], CardContent | None]
