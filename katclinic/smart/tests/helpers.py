"""A SMART app and the steps of its launch, made through the same HTTP a real app uses."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client

from katclinic.smart import services
from katclinic.smart.models import SmartApp
from katclinic.smart.oauth import s256

FORM = "application/x-www-form-urlencoded"
REDIRECT = "https://diary.example.org/callback"
ORIGIN = "https://diary.example.org"
VERIFIER = "a-verifier-of-enough-length-0123456789-abcdefghijkl"
AUD = "http://testserver/fhir/R4"


def register(test: Any, *, confidential: bool = False) -> tuple[SmartApp, str]:
    return services.register_app(
        clinic=test.clinic,
        name="Mood diary",
        redirect_uris=[REDIRECT],
        origins=[],
        confidential=confidential,
        by=test.adam,
    )


def authorize_params(app: SmartApp, scope: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s-123",
        "aud": AUD,
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    } | extra


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(test: Any, app: SmartApp, scope: str, **form: str) -> str:
    """Open the consent page as the signed-in person, allow, and read the code off the
    redirect back to the app."""
    params = authorize_params(app, scope)
    page = test.client.get("/oauth/authorize", params)
    test.assertEqual(page.status_code, 200, page.content[:300])
    answer = test.client.post("/oauth/authorize", params | {"decision": "allow"} | form)
    test.assertEqual(answer.status_code, 302, answer.content[:500])
    test.assertTrue(answer["Location"].startswith(REDIRECT))
    back = query_of(answer["Location"])
    test.assertEqual(back["state"], "s-123")
    return back["code"]


def token_request(data: dict[str, str], secret: tuple[str, str] | None = None) -> Any:
    headers = {}
    if secret is not None:
        pair = base64.b64encode(f"{secret[0]}:{secret[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    return Client().post("/oauth/token", urlencode(data), content_type=FORM, headers=headers)


def exchange(app: SmartApp, code: str, verifier: str = VERIFIER) -> Any:
    return token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        }
    )


def fhir_get(path: str, token: str, **params: Any) -> Any:
    return Client().get(f"/fhir/R4/{path}", params, headers={"Authorization": f"Bearer {token}"})


def body(response: Any) -> Any:
    return json.loads(response.content)
