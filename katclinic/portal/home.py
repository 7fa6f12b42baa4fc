"""The patient's portal home is built from cards, like the staff worklists.

An app contributes a card in its AppConfig.ready() with `register(Card(...))`. A card's
function gets the request and the patient and returns what to show, or None to hide
the card. The portal registers its own fallback cards with `default=True`: they query
other apps' models directly and give way to a card the owning app registers under
the same key.
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
    order: int = 100


CARDS: dict[str, Card] = {}


def register(card: Card, *, default: bool = False) -> None:
    """Add a card; a `default` card never replaces one an app registered itself."""
    if default:
        CARDS.setdefault(card.key, card)
    else:
        CARDS[card.key] = card


def cards_for(request: HttpRequest, patient: Patient) -> list[tuple[Card, CardContent]]:
    shown = []
    for card in sorted(CARDS.values(), key=lambda c: (c.order, c.title)):
        content = card.content(request, patient)
        if content is not None:
            shown.append((card, content))
    return shown
