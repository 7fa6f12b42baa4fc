"""A backend service as a real one is built: its own EC P-384 key pair, its public keys
(JWKS) registered by the clinic's admin, and assertions it signs for the token endpoint."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from katclinic.smart import backend
from katclinic.smart.models import SmartApp

TOKEN_URL = "http://testserver/oauth/token"
FORM = "application/x-www-form-urlencoded"


class Service:
    """A backend service holding a private key the server never sees."""

    def __init__(self, kid: str = "key-1") -> None:
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP384R1())

    def jwks(self) -> str:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return json.dumps({"keys": [public | {"kid": self.kid, "alg": "ES384", "use": "sig"}]})

    def register(self, test: Any, scopes: str = "system/*.rs") -> SmartApp:
        return backend.register_backend(
            clinic=test.clinic,
            name="Registry export",
            jwks=self.jwks(),
            scopes=scopes,
            by=test.adam,
        )

    def assertion(self, client_id: str, **changes: Any) -> str:
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": TOKEN_URL,
            "exp": int(time.time()) + 240,
            "jti": uuid.uuid4().hex,
        } | changes
        kid = claims.pop("kid", self.kid)
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": kid})


def ask_token(assertion: str, scope: str = "system/*.rs", **extra: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": backend.ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    } | extra
    return Client().post("/oauth/token", urlencode(data), content_type=FORM)


def token_for(service: Service, app: SmartApp, scope: str = "system/*.rs") -> str:
    answer = ask_token(service.assertion(app.client_id), scope)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])
