"""What the benchmark measures: one small Scenario per request kind.

To add one, append a Scenario to SCENARIOS. Paths are format strings and bodies are
functions, both filled from the context that bench/dataset.py prints (add any ids you need in its
`context_for`).
"""

from __future__ import annotations

import json
import urllib.parse
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
    # A mix of bodies sent in turn (overrides `body` under load; the probe sends the first).
    bodies: Callable[[dict[str, Any]], list[str]] | None = None
    content_type: str = "application/json"
    expect_status: int = 200

    def url_path(self, context: dict[str, Any]) -> str:
        return self.path.format(**context)

    def missing(self, context: dict[str, Any]) -> str:
        """Why the dataset cannot fill this scenario in, or "" when it can."""
        try:
            self.url_path(context)
        except KeyError as exc:
            return f"the dataset has no {exc.args[0]}"
        return ""

    def request_body(self, context: dict[str, Any]) -> str:
        if self.bodies:
            return self.bodies(context)[0]
        return self.body(context) if self.body else ""

    def request_bodies(self, context: dict[str, Any]) -> tuple[str, ...]:
        return tuple(self.bodies(context)) if self.bodies else ()

    def headers(self, context: dict[str, Any]) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.auth == "session":
            headers["Cookie"] = f"{context['session_cookie_name']}={context[self.session_key]}"
            if self.method == "POST":
                headers["Cookie"] += f"; {context['csrf_cookie_name']}={context['csrf']}"
        elif self.auth == "token":
            headers["Authorization"] = f"Bearer {context['token']}"
        if self.method == "POST":
            headers["Content-Type"] = self.content_type
        return headers


# PHQ-9 submissions, one in ten answering item 9 above 0 (the safety-flag path: an alert,
# its audit event and the crisis notice), as a clinic's real mix would include.
ALERTING_SHARE = (1, 10)


def phq9_bodies(context: dict[str, Any]) -> list[str]:
    alerting, out_of = ALERTING_SHARE
    # Spread over the clinic's patients, as a clinic's submissions come, not all from one.
    patients = context.get("submit_patient_ids") or [context["patient_id"]]
    bodies = []
    for n in range(out_of * len(patients)):
        q9 = 1 if n % out_of < alerting else 0
        answers = {f"q{i}": (i + n) % 3 for i in range(1, 9)} | {"q9": q9}
        patient_id = patients[n // out_of]
        bodies.append(
            json.dumps({"patient_id": patient_id, "instrument": "phq9", "answers": answers})
        )
    return bodies


def checkpoint_body(context: dict[str, Any]) -> str:
    """A normal reading (no alert) on the session in monitoring, as the nurse's form posts it."""
    fields = {
        "csrfmiddlewaretoken": context["csrf"],
        "label": "extra reading",
        "taken_at": context["taken_at"],
        "systolic": "124",
        "diastolic": "78",
        "heart_rate": "72",
        "spo2": "98",
        "respiratory_rate": "14",
        "moaas": "5",
    }
    return urllib.parse.urlencode(fields)


# Chart tabs: (tab key in the dataset's context, who opens it). Tabs a nurse may not open are
# read by the clinic administrator.
CHART_TABS = (
    ("overview", "session"),
    ("sessions", "session"),
    ("plan", "session"),
    ("measures", "session"),
    ("progress", "session"),
    ("visitnotes", "session"),
    ("intake", "session"),
    ("athome", "session"),
    ("journal", "session"),
    ("surveillance", "session"),
    ("appointments", "admin_session"),
    ("insurance", "admin_session"),
    ("billing", "admin_session"),
    ("portal", "admin_session"),
    ("messages", "session"),
)

SCENARIOS: list[Scenario] = [
    Scenario("patient list", "/patients/"),
    Scenario("patient search", "/patients/?q={search}"),
    *(Scenario(f"chart: {key}", "{tab_" + key + "}", session_key=who) for key, who in CHART_TABS),
    Scenario("dosing session page", "/dosing/{session_id}/"),
    Scenario(
        "vitals checkpoint POST",
        "/dosing/{session_id}/checkpoint/",
        method="POST",
        body=checkpoint_body,
        content_type="application/x-www-form-urlencoded",
        expect_status=302,
    ),
    Scenario("api session readings", "/api/sessions/{session_id}?recent=20", auth="token"),
    Scenario("api patient list", "/api/patients/", auth="token"),
    Scenario(
        "questionnaire submit",
        "/api/measures/responses",
        auth="token",
        method="POST",
        bodies=phq9_bodies,
        expect_status=201,
    ),
    Scenario("floor board", "/dosing/board/"),
    Scenario(
        "outcomes dashboard (warm)",
        "/outcomes/",
        session_key="outcomes_session",
    ),
]
