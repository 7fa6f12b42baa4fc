"""What a SMART client discovers, and which browser origins may call."""

from __future__ import annotations

from typing import Any

from django.test import Client

from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.smart import services
from katclinic.smart.tests.helpers import ORIGIN, body, register
from katclinic.testing import ClinicTestCase

REQUIRED = ("authorization_endpoint", "token_endpoint", "capabilities")
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def oauth_extension(statement: dict[str, Any]) -> dict[str, str]:
    security = statement["rest"][0]["security"]
    (extension,) = [e for e in security["extension"] if e["url"] == OAUTH_URIS]
    return {e["url"]: e["valueUri"] for e in extension["extension"]}


class DiscoveryTest(ClinicTestCase):
    def test_smart_configuration_at_the_root_and_under_the_fhir_base(self) -> None:
        for path in (
            "/.well-known/smart-configuration",
            "/fhir/R4/.well-known/smart-configuration",
        ):
            with self.subTest(path=path):
                answer = Client().get(path)
                self.assertEqual(answer.status_code, 200)
                config = body(answer)
                for key in REQUIRED:
                    self.assertIn(key, config)
                self.assertEqual(
                    config["authorization_endpoint"], "http://testserver/oauth/authorize"
                )
                self.assertEqual(config["token_endpoint"], "http://testserver/oauth/token")
                self.assertEqual(config["code_challenge_methods_supported"], ["S256"])
                for capability in (
                    "launch-standalone",
                    "client-public",
                    "client-confidential-symmetric",
                    "context-standalone-patient",
                    "permission-v2",
                    "permission-patient",
                    "permission-user",
                ):
                    self.assertIn(capability, config["capabilities"])
                self.assertIn("patient/Observation.rs", config["scopes_supported"])
                self.assertIn("user/Patient.rs", config["scopes_supported"])

    def test_the_capability_statement_names_the_oauth_endpoints(self) -> None:
        statement = body(Client().get("/fhir/R4/metadata"))
        assert_valid(statement)  # fhir.resources R4B accepts the security element as served
        self.assertTrue(statement["rest"][0]["security"]["cors"])
        uris = oauth_extension(statement)
        self.assertEqual(uris["authorize"], "http://testserver/oauth/authorize")
        self.assertEqual(uris["token"], "http://testserver/oauth/token")
        self.assertEqual(uris["revoke"], "http://testserver/oauth/revoke")
        service = statement["rest"][0]["security"]["service"][0]["coding"][0]
        self.assertEqual(service["code"], "SMART-on-FHIR")


class CorsTest(ClinicTestCase):
    def preflight(self, path: str, origin: str) -> Any:
        return Client().options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )

    def test_only_registered_origins_are_answered_and_never_with_credentials(self) -> None:
        app, _ = register(self)
        for path in ("/fhir/R4/Patient", "/oauth/token", "/oauth/revoke", "/fhir/R4/metadata"):
            with self.subTest(path=path):
                allowed = self.preflight(path, ORIGIN)
                self.assertEqual(allowed.status_code, 204)
                self.assertEqual(allowed["Access-Control-Allow-Origin"], ORIGIN)
                self.assertIn("Authorization", allowed["Access-Control-Allow-Headers"])
                self.assertFalse(allowed.has_header("Access-Control-Allow-Credentials"))
                refused = self.preflight(path, "https://evil.example.org")
                self.assertEqual(refused.status_code, 403)
                self.assertFalse(refused.has_header("Access-Control-Allow-Origin"))
        answer = Client().get("/fhir/R4/metadata", headers={"Origin": ORIGIN})
        self.assertEqual(answer["Access-Control-Allow-Origin"], ORIGIN)
        self.assertIn("Origin", answer["Vary"])
        other = Client().get("/fhir/R4/metadata", headers={"Origin": "https://evil.example.org"})
        self.assertFalse(other.has_header("Access-Control-Allow-Origin"))
        # Pages of the clinic itself never answer CORS, whoever asks.
        page = self.preflight("/patients/", ORIGIN)
        self.assertFalse(page.has_header("Access-Control-Allow-Origin"))
        # A stopped app's origin is no longer allowed.
        services.disable_app(app=app, by=self.adam)
        self.assertEqual(self.preflight("/fhir/R4/Patient", ORIGIN).status_code, 403)

    def test_an_app_may_name_its_own_origins(self) -> None:
        app, _ = services.register_app(
            clinic=self.clinic,
            name="Web viewer",
            redirect_uris=["https://viewer.example.org/cb"],
            origins=["https://static.example.org"],
            confidential=False,
            by=self.adam,
        )
        self.assertEqual(app.origins, ["https://static.example.org"])
        self.assertEqual(
            self.preflight("/oauth/token", "https://static.example.org").status_code, 204
        )
        self.assertEqual(
            self.preflight("/oauth/token", "https://viewer.example.org").status_code, 403
        )
