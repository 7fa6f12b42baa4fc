"""SMART Backend Services: a service signs an assertion with its own key and gets a
clinic-scoped system/ token; every other assertion is refused with an OAuth error and no
token is stored."""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import CommandError, call_command

from katclinic.audit.models import AuditEvent
from katclinic.smart import backend
from katclinic.smart.models import BackendToken, SmartApp, UsedAssertion, hash_secret
from katclinic.smart.services import AppRefused, disable_app
from katclinic.smart.tests.backend_helpers import TOKEN_URL, Service, ask_token
from katclinic.testing import ClinicTestCase


class BackendTokenTest(ClinicTestCase):
    def setUp(self) -> None:
        self.service = Service()
        self.app = self.service.register(self)

    def assert_refused(self, answer: object, error: str, status: int = 401) -> None:
        self.assertEqual(answer.status_code, status, answer.content)  # type: ignore[attr-defined]
        self.assertEqual(answer.json()["error"], error)  # type: ignore[attr-defined]
        self.assertEqual(BackendToken.objects.count(), 0)

    def test_a_signed_assertion_gets_a_clinic_scoped_system_token(self) -> None:
        answer = ask_token(self.service.assertion(self.app.client_id))
        self.assertEqual(answer.status_code, 200, answer.content)
        issued = answer.json()
        self.assertEqual(issued["token_type"], "Bearer")
        self.assertEqual(issued["scope"], "system/*.rs")
        self.assertLessEqual(issued["expires_in"], 300)
        token = BackendToken.objects.get(token_hash=hash_secret(issued["access_token"]))
        self.assertEqual((token.clinic_id, token.app_id), (self.clinic.pk, self.app.pk))
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=self.clinic.pk, detail__event="SMART backend token issued"
            ).exists()
        )

    def test_a_narrower_scope_than_registered_is_granted(self) -> None:
        own = ask_token(self.service.assertion(self.app.client_id), scope="system/Patient.rs")
        self.assertEqual(own.status_code, 200, own.content)
        self.assertEqual(own.json()["scope"], "system/Patient.rs")

    def test_a_scope_beyond_the_registration_is_refused(self) -> None:
        service = Service()
        app = service.register(self, scopes="system/Patient.rs")
        answer = ask_token(service.assertion(app.client_id), scope="system/Observation.rs")
        self.assert_refused(answer, "invalid_scope", 400)
        patient_level = ask_token(service.assertion(app.client_id), scope="patient/*.rs")
        self.assert_refused(patient_level, "invalid_scope", 400)

    def test_a_wrong_audience_is_refused(self) -> None:
        assertion = self.service.assertion(self.app.client_id, aud="https://elsewhere.example/t")
        self.assert_refused(ask_token(assertion), "invalid_client")

    def test_an_expired_assertion_is_refused(self) -> None:
        assertion = self.service.assertion(self.app.client_id, exp=int(time.time()) - 30)
        self.assert_refused(ask_token(assertion), "invalid_client")

    def test_an_assertion_expiring_more_than_five_minutes_ahead_is_refused(self) -> None:
        assertion = self.service.assertion(self.app.client_id, exp=int(time.time()) + 900)
        answer = ask_token(assertion)
        self.assert_refused(answer, "invalid_client")
        self.assertIn("five minutes", answer.json()["error_description"])

    def test_a_replayed_jti_is_refused(self) -> None:
        assertion = self.service.assertion(self.app.client_id)
        self.assertEqual(ask_token(assertion).status_code, 200)
        again = ask_token(assertion)
        self.assertEqual(again.status_code, 401)
        self.assertIn("jti", again.json()["error_description"])
        self.assertEqual(BackendToken.objects.count(), 1)
        self.assertEqual(UsedAssertion.objects.filter(app=self.app).count(), 1)

    def test_a_key_the_app_did_not_register_is_refused(self) -> None:
        impostor = Service(kid=self.service.kid)  # same key id, another private key
        self.assert_refused(ask_token(impostor.assertion(self.app.client_id)), "invalid_client")
        unknown_kid = self.service.assertion(self.app.client_id, kid="key-9")
        self.assert_refused(ask_token(unknown_kid), "invalid_client")

    def test_a_wrong_client_is_refused(self) -> None:
        other = Service().register(self)
        # Signed by this service, naming another app as the issuer.
        self.assert_refused(ask_token(self.service.assertion(other.client_id)), "invalid_client")
        mismatched = self.service.assertion(self.app.client_id, sub=other.client_id)
        self.assert_refused(ask_token(mismatched), "invalid_client")
        named = ask_token(self.service.assertion(self.app.client_id), client_id=other.client_id)
        self.assert_refused(named, "invalid_client")
        unknown = self.service.assertion("nosuchclient")
        self.assert_refused(ask_token(unknown), "invalid_client")

    def test_a_stopped_service_gets_no_token(self) -> None:
        disable_app(app=self.app, by=self.adam)
        self.assert_refused(ask_token(self.service.assertion(self.app.client_id)), "invalid_client")

    def test_bad_requests_name_their_field(self) -> None:
        assertion = self.service.assertion(self.app.client_id)
        wrong_type = ask_token(assertion, client_assertion_type="urn:other")
        self.assert_refused(wrong_type, "invalid_request", 400)
        self.assertIn("client_assertion_type", wrong_type.json()["error_description"])
        self.assert_refused(ask_token("not-a-jwt"), "invalid_client")
        no_scope = ask_token(assertion, scope="")
        self.assert_refused(no_scope, "invalid_request", 400)
        self.assertIn("scope", no_scope.json()["error_description"])
        secret = ask_token(assertion, client_secret="x")
        self.assert_refused(secret, "invalid_request", 400)

    def test_the_token_url_is_the_audience_the_client_signs_for(self) -> None:
        config = self.client.get("/.well-known/smart-configuration").json()
        self.assertEqual(config["token_endpoint"], TOKEN_URL)
        self.assertIn("private_key_jwt", config["token_endpoint_auth_methods_supported"])
        self.assertIn("ES384", config["token_endpoint_auth_signing_alg_values_supported"])
        self.assertIn("client_credentials", config["grant_types_supported"])
        self.assertIn("client-confidential-asymmetric", config["capabilities"])
        self.assertIn("system/*.rs", config["scopes_supported"])


class BackendRegistrationTest(ClinicTestCase):
    def post(self, **fields: str) -> object:
        self.login(self.adam)
        data = {"name": "Registry", "kind": "backend", "system_scopes": "system/*.rs"} | fields
        return self.client.post("/oauth/apps/register/", data)

    def test_an_admin_registers_a_backend_service_with_its_jwks(self) -> None:
        service = Service()
        answer = self.post(jwks=service.jwks())
        self.assertEqual(answer.status_code, 201)  # type: ignore[attr-defined]
        app = SmartApp.objects.get(clinic=self.clinic, backend=True)
        self.assertEqual(app.system_scopes, ["system/*.rs"])
        self.assertEqual(app.jwks["keys"][0]["kid"], "key-1")
        self.assertContains(answer, app.client_id, status_code=201)  # type: ignore[arg-type]
        self.assertEqual(ask_token(service.assertion(app.client_id)).status_code, 200)

    def test_a_private_key_or_bad_jwks_is_refused_and_nothing_stored(self) -> None:
        service = Service()
        private = json.loads(service.jwks())
        private["keys"][0]["d"] = "secret-part"
        cases = {
            "private": json.dumps(private),
            "not json": "{keys",
            "no keys": '{"keys": []}',
            "empty": "",
        }
        for name, jwks in cases.items():
            with self.subTest(name):
                answer = self.post(jwks=jwks)
                self.assertEqual(answer.status_code, 400)  # type: ignore[attr-defined]
                self.assertEqual(SmartApp.objects.count(), 0)
        wrong_scope = self.post(jwks=service.jwks(), system_scopes="patient/*.rs")
        self.assertEqual(wrong_scope.status_code, 400)  # type: ignore[attr-defined]
        self.assertEqual(SmartApp.objects.count(), 0)

    def test_a_non_admin_cannot_register_one(self) -> None:
        self.login(self.paula)
        answer = self.client.post(
            "/oauth/apps/register/", {"name": "R", "kind": "backend", "jwks": Service().jwks()}
        )
        self.assertEqual(answer.status_code, 403)
        self.assertEqual(SmartApp.objects.count(), 0)

    def test_the_command_registers_a_backend_service_from_a_jwks_file(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "keys.json"
            path.write_text(Service().jwks(), encoding="utf-8")
            out = io.StringIO()
            call_command(
                "smart_app",
                "register",
                "--clinic",
                "north",
                "--name",
                "Registry",
                "--backend",
                "--jwks",
                str(path),
                "--scope",
                "system/Patient.rs",
                stdout=out,
            )
        app = SmartApp.objects.get(backend=True)
        self.assertIn(app.client_id, out.getvalue())
        self.assertEqual(app.system_scopes, ["system/Patient.rs"])
        with self.assertRaisesMessage(CommandError, "--jwks"):
            call_command("smart_app", "register", "--clinic", "north", "--name", "R", "--backend")
        self.assertEqual(SmartApp.objects.count(), 1)

    def test_a_jwks_without_key_ids_or_with_another_curve_is_refused(self) -> None:
        keys = json.loads(Service().jwks())
        del keys["keys"][0]["kid"]
        with self.assertRaisesMessage(AppRefused, "kid"):
            backend.clean_jwks(json.dumps(keys))
        p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
        other_curve = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(p256)) | {"kid": "k"}
        with self.assertRaisesMessage(AppRefused, "P-384"):
            backend.clean_jwks(json.dumps({"keys": [other_curve]}))
