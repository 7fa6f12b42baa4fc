"""A check of the fuzz run: a record read by one identity is never given to another.

Loaded by run.py (SCHEMATHESIS_HOOKS=bench.fuzz.hooks). FUZZ_TOKENS names a JSON file of
tokens (see tokens.py). Every successful GET of one record (a path with a record id in it; instrument
definitions are shared by design) is
replayed with the token of each identity that must not see it: the second clinic's staff
for anything of the first clinic, and the other patient for a patient's own records. The
replay must answer 403 or 404. Lists are filtered by clinic and are checked by the tests.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import requests
import schemathesis

REFUSED = (401, 403, 404)


@cache
def tokens() -> dict[str, str]:
    return json.loads(Path(os.environ["FUZZ_TOKENS"]).read_text())


def outsiders(identity: str) -> list[str]:
    """Who must not read what `identity` may read."""
    return {
        "north_staff": ["south_staff"],
        "patient": ["patient2", "south_staff"],
        "patient2": ["patient", "south_staff"],
    }.get(identity, [])


def identity_of(request: requests.PreparedRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    for name, raw in tokens().items():
        if header == f"Bearer {raw}":
            return name
    return None


@schemathesis.check
def other_clinic_or_patient_gets_nothing(ctx: Any, response: Any, case: Any) -> None:
    ids = [name for name in case.path_parameters or {} if name.endswith("_id")]
    if case.method != "GET" or not 200 <= response.status_code < 300 or not ids:
        return
    owner = identity_of(response.request)
    if owner is None:
        return
    for other in outsiders(owner):
        replay = response.request.copy()
        replay.headers["Authorization"] = f"Bearer {tokens()[other]}"
        with requests.Session() as session:
            answer = session.send(replay, timeout=30, allow_redirects=False)
        if answer.status_code not in REFUSED:
            raise AssertionError(
                f"{other} got {answer.status_code} for {case.method} {case.formatted_path}, "
                f"which {owner} may read; expected 403 or 404"
            )
