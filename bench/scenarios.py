"""What the benchmark measures: one small Scenario per request kind.

To add one, append a Scenario to SCENARIOS. Paths are format strings and bodies are
functions, both filled from the context that bench/dataset.py prints (add any ids you need in its
`context_for`). `needs` names a module that must exist (e.g. an app's api.py), so a
scenario can be listed before the endpoint lands and is skipped until then.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str  # format string, e.g. "/patients/{patient_id}/"
    auth: Literal["session", "token", "none"] = "session"
    # Which session cookie in the context to send (for pages a nurse may not open).
    session_key: str = "session"
    method: Literal["GET", "POST"] = "GET"
    # Builds the request body from the context, e.g. lambda c: json.dumps({...}).
    body: Callable[[dict[str, Any]], str] | None = None
    content_type: str = "application/json"
    expect_status: int = 200
    needs: str = ""  # a module that must be importable, e.g. "katclinic.measures.api"

    def available(self) -> bool:
        return not self.needs or importlib.util.find_spec(self.needs) is not None

    def url_path(self, context: dict[str, Any]) -> str:
        return self.path.format(**context)

    def request_body(self, context: dict[str, Any]) -> str:
        return self.body(context) if self.body else ""

    def headers(self, context: dict[str, Any]) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.auth == "session":
            headers["Cookie"] = f"{context['session_cookie_name']}={context[self.session_key]}"
        elif self.auth == "token":
            headers["Authorization"] = f"Bearer {context['token']}"
        if self.method == "POST":
            headers["Content-Type"] = self.content_type
        return headers


SCENARIOS: list[Scenario] = [
    Scenario("patient list", "/patients/"),
    Scenario("patient search", "/patients/?q={search}"),
    Scenario("patient chart", "/patients/{patient_id}/"),
    Scenario("api patient list", "/api/patients/", auth="token"),
    Scenario(
        "questionnaire submit",
        "/api/measures/responses",
        auth="token",
        method="POST",
        body=lambda c: json.dumps(
            {
                "patient_id": c["patient_id"],
                "instrument": "gad7",
                "answers": {f"q{i}": i % 4 for i in range(1, 8)},
            }
        ),
        expect_status=201,
        needs="katclinic.measures.api",
    ),
    Scenario("floor board", "/dosing/board/", needs="katclinic.dosing.board"),
    Scenario(
        "outcomes dashboard",
        "/outcomes/",
        session_key="outcomes_session",
        needs="katclinic.outcomes.dashboard",
    ),
]
