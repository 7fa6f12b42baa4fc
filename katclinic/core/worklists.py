"""Each role's home page is a worklist: what needs this person now, in this clinic.

Apps contribute sections in their AppConfig.ready() with `register(Section(...))`. A
section names the roles it is for, and a function that returns its items for the
request (a short list; the section's link leads to the full page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.http import HttpRequest

from katclinic.clinics.permissions import Role


@dataclass(frozen=True)
class Item:
    title: str
    url: str
    detail: str = ""
    # "danger" and "warn" sort first and are highlighted.
    level: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    roles: frozenset[Role]
    items: Callable[[HttpRequest], Sequence[Item]]
    empty: str = "Nothing needs you here right now."
    link: str = ""
    order: int = 100
    extra: dict[str, str] = field(default_factory=dict)


SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    SECTIONS[section.key] = section


def sections_for(request: HttpRequest) -> list[Section]:
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    return sorted(
        (s for s in SECTIONS.values() if s.roles & roles), key=lambda s: (s.order, s.title)
    )


LEVEL_ORDER = {"danger": 0, "warn": 1, "": 2}


def collect(request: HttpRequest, section: Section) -> list[Item]:
    return sorted(section.items(request), key=lambda item: LEVEL_ORDER.get(item.level, 2))
