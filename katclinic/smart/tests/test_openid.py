"""OpenID Connect for SMART apps: the id_token a person's app gets with ``openid fhirUser``,
verified as an app does, with the keys the OpenID configuration publishes."""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client, override_settings

from katclinic.smart.apps import check_id_token_key
from katclinic.smart.models import SigningKey, SmartApp, SmartGrant
from katclinic.smart.tests.helpers import (
    AUD,
    authorize_params,
    body,
    exchange,
    fhir_get,
    query_of,
    register,
    token_request,
)
from katclinic.testing import ClinicTestCase

PATIENT_SCOPE = "launch/patient patient/*.rs openid fhirUser offline_access"


def verified(id_token: str, client_id: str) -> dict[str, Any]:
    """The id_token's claims, checked with the key the server publishes."""
    config = body(Client().get("/.well-known/openid-configuration"))
    keys = body(Client().get(config["jwks_uri"].removeprefix("http://testserver")))
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = jwt.PyJWKSet.from_dict(keys)[kid].key
    return jwt.decode(
        id_token,
        key=key,
        algorithms=config["id_token_signing_alg_values_supported"],
        audience=client_id,
        issuer=config["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )


class IdTokenTest(ClinicTestCase):
    app: SmartApp

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app, _ = register(cls)

    def tokens(self, scope: str, **form: str) -> dict[str, Any]:
        params = authorize_params(self.app, scope, nonce="n-0S6_WzA2Mj")
        page = self.client.get("/oauth/authorize", params)
        self.assertEqual(page.status_code, 200, page.content[:300])
        answer = self.client.post("/oauth/authorize", params | {"decision": "allow"} | form)
        code = query_of(answer["Location"])["code"]
        exchanged = exchange(self.app, code)
        self.assertEqual(exchanged.status_code, 200, exchanged.content)
        return body(exchanged)

    def test_a_patients_id_token_names_their_record_and_it_resolves(self) -> None:
        self.login(self.pat_user)
        tokens = self.tokens(PATIENT_SCOPE)
        claims = verified(tokens["id_token"], self.app.client_id)
        self.assertEqual(claims["iss"], "http://testserver")
        self.assertEqual(claims["sub"], str(self.pat_user.pk))
        self.assertEqual(claims["aud"], self.app.client_id)
        self.assertEqual(claims["nonce"], "n-0S6_WzA2Mj")
        self.assertEqual(claims["exp"] - claims["iat"], tokens["expires_in"])
        self.assertEqual(claims["fhirUser"], f"{AUD}/Patient/{self.pat.pk}")
        record = fhir_get(claims["fhirUser"].removeprefix(f"{AUD}/"), tokens["access_token"])
        self.assertEqual(record.status_code, 200)
        self.assertEqual(body(record)["name"][0]["family"], "Doe")
        # A refreshed token comes with a fresh id_token for the same person.
        renewed = token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": self.app.client_id,
            }
        )
        again = verified(body(renewed)["id_token"], self.app.client_id)
        self.assertEqual(again["fhirUser"], claims["fhirUser"])
        self.assertNotIn("nonce", again)

    def test_a_staff_members_fhir_user_is_their_practitioner(self) -> None:
        self.login(self.paula)
        tokens = self.tokens("user/*.rs openid fhirUser")
        claims = verified(tokens["id_token"], self.app.client_id)
        self.assertEqual(claims["fhirUser"], f"{AUD}/Practitioner/{self.paula.pk}")
        me = fhir_get(f"Practitioner/{self.paula.pk}", tokens["access_token"])
        self.assertEqual(me.status_code, 200)
        self.assertEqual(body(me)["resourceType"], "Practitioner")

    def test_openid_without_fhir_user_names_no_resource(self) -> None:
        self.login(self.pat_user)
        claims = verified(self.tokens("patient/*.rs openid")["id_token"], self.app.client_id)
        self.assertNotIn("fhirUser", claims)
        self.assertEqual(claims["sub"], str(self.pat_user.pk))

    def test_without_openid_there_is_no_id_token(self) -> None:
        self.login(self.pat_user)
        self.assertNotIn("id_token", self.tokens("patient/*.rs fhirUser"))

    def test_an_id_token_signed_by_another_key_does_not_verify(self) -> None:
        self.login(self.pat_user)
        claims = verified(self.tokens(PATIENT_SCOPE)["id_token"], self.app.client_id)
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = jwt.get_unverified_header(self.tokens(PATIENT_SCOPE)["id_token"])["kid"]
        forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid})
        with self.assertRaises(jwt.InvalidSignatureError):
            verified(forged, self.app.client_id)

    def test_the_server_makes_its_key_once(self) -> None:
        self.login(self.pat_user)
        first = self.tokens(PATIENT_SCOPE)["id_token"]
        second = self.tokens(PATIENT_SCOPE)["id_token"]
        self.assertEqual(SigningKey.objects.count(), 1)
        kid = SigningKey.objects.get().kid
        self.assertEqual(jwt.get_unverified_header(first)["kid"], kid)
        self.assertEqual(jwt.get_unverified_header(second)["kid"], kid)

    def test_a_configured_key_signs_and_nothing_is_stored(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.login(self.pat_user)
        with override_settings(SMART_ID_TOKEN_KEY=pem):
            id_token = self.tokens(PATIENT_SCOPE)["id_token"]
            self.assertEqual(verified(id_token, self.app.client_id)["sub"], str(self.pat_user.pk))
        self.assertEqual(
            jwt.decode(id_token, key.public_key(), ["RS256"], audience=self.app.client_id)["sub"],
            str(self.pat_user.pk),
        )
        self.assertFalse(SigningKey.objects.exists())

    def test_a_bad_nonce_is_refused_naming_it(self) -> None:
        self.login(self.pat_user)
        for nonce in ("a\tb", "x" * 256, "²"):
            with self.subTest(nonce=nonce[:10]):
                params = authorize_params(self.app, PATIENT_SCOPE, nonce=nonce)
                back = query_of(self.client.get("/oauth/authorize", params)["Location"])
                self.assertEqual(back["error"], "invalid_request")
                self.assertTrue(back["error_description"].startswith("nonce:"))
        self.assertFalse(SmartGrant.objects.exists())


class KeyCheckTest(ClinicTestCase):
    def test_a_configured_key_that_cannot_sign_stops_the_server(self) -> None:
        ec_key = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for value, why in (("not a key", "PEM"), (ec_key.decode(), "RSA")):
            with self.subTest(why=why), override_settings(SMART_ID_TOKEN_KEY=value):
                errors = check_id_token_key()
                self.assertEqual([e.id for e in errors], ["smart.E001"])
                self.assertIn(why, errors[0].msg)
        self.assertEqual(check_id_token_key(), [])  # unset: the stored key is used


class OpenIdDiscoveryTest(ClinicTestCase):
    def test_the_openid_configuration_has_what_smart_requires(self) -> None:
        config = body(Client().get("/.well-known/openid-configuration"))
        self.assertEqual(config["issuer"], "http://testserver")
        self.assertEqual(config["jwks_uri"], "http://testserver/oauth/jwks")
        self.assertEqual(config["authorization_endpoint"], "http://testserver/oauth/authorize")
        self.assertEqual(config["token_endpoint"], "http://testserver/oauth/token")
        self.assertEqual(config["response_types_supported"], ["code"])
        self.assertEqual(config["subject_types_supported"], ["public"])
        self.assertEqual(config["id_token_signing_alg_values_supported"], ["RS256"])
        self.assertIn("fhirUser", config["claims_supported"])
        keys = body(Client().get("/oauth/jwks"))["keys"]
        self.assertEqual([(k["kty"], k["alg"], k["use"]) for k in keys], [("RSA", "RS256", "sig")])
        self.assertFalse({"d", "p", "q"} & set(keys[0]))  # the public half only

    def test_smart_discovery_advertises_ehr_launch_and_openid(self) -> None:
        config = body(Client().get("/.well-known/smart-configuration"))
        for capability in ("launch-ehr", "context-ehr-patient", "sso-openid-connect"):
            self.assertIn(capability, config["capabilities"])
        for scope in ("launch", "openid", "fhirUser"):
            self.assertIn(scope, config["scopes_supported"])
        self.assertEqual(config["issuer"], "http://testserver")
        self.assertEqual(config["jwks_uri"], "http://testserver/oauth/jwks")

    def test_a_registered_apps_page_may_fetch_the_keys_and_configuration(self) -> None:
        register(self)
        for path in ("/oauth/jwks", "/.well-known/openid-configuration"):
            with self.subTest(path=path):
                mine = Client().get(path, headers={"Origin": "https://diary.example.org"})
                self.assertEqual(mine["Access-Control-Allow-Origin"], "https://diary.example.org")
                other = Client().get(path, headers={"Origin": "https://evil.example.org"})
                self.assertFalse(other.has_header("Access-Control-Allow-Origin"))
