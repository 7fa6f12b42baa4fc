"""Links to one row by id, reversed once per process instead of once per row shown.

``reverse()`` walks the URL resolver on every call, which a table of fifty rows with a link
each pays fifty times. ``id_url(name, pk)`` reverses ``name`` once with a stand-in id (per
URL name, script prefix and URLconf) and puts the row's id in its place. Only for URLs whose
one argument is an integer id. The URLconf does not change while a process runs, so there
is nothing to invalidate; a test that swaps it gets its own entries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import get_script_prefix, get_urlconf, reverse

# Never a real id in a path, and digits only, so it is found again where it was put in.
_ANY_ID = 987654321
_patterns: dict[tuple[str, str, object], tuple[str, str]] = {}


def id_url(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])``, for a URL named ``name`` taking one integer id."""
    key = (name, get_script_prefix(), get_urlconf())
    found = _patterns.get(key)
    if found is None:
        before, _, after = reverse(name, args=[_ANY_ID]).rpartition(str(_ANY_ID))
        found = _patterns[key] = (before, after)
    return f"{found[0]}{pk}{found[1]}"


def id_url_maker(name: str) -> Callable[[int], str]:
    """``id_url`` for one URL name, its pattern looked up once: for a table's rows."""
    id_url(name, _ANY_ID)
    before, after = _patterns[(name, get_script_prefix(), get_urlconf())]
    return lambda pk: f"{before}{pk}{after}"
