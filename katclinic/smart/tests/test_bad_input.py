"""Every parameter of the OAuth endpoints, given badly: an OAuth error naming it, never a 500,
and nothing issued."""

from __future__ import annotations

from typing import Any

from django.test import Client

from katclinic.smart.models import SmartApp, SmartGrant, SmartToken
from katclinic.smart.tests.helpers import (
    FORM,
    REDIRECT,
    VERIFIER,
    authorize_params,
    body,
    get_code,
    query_of,
    register,
    token_request,
)
from katclinic.testing import ClinicTestCase

HOSTILE = ["", "²", "\x00", "x" * 5000, "' OR 1=1 --", "%", "١٢٣"]
SCOPE = "launch/patient patient/*.rs offline_access"


class AuthorizeBadInputTest(ClinicTestCase):
    app: SmartApp
    secret: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app, _ = register(cls)

    def setUp(self) -> None:
        self.login(self.pat_user)

    def test_an_unknown_app_or_address_is_shown_not_redirected(self) -> None:
        for field, value in [
            ("client_id", "nobody"),
            ("redirect_uri", "https://elsewhere.example.org/callback"),
            ("redirect_uri", REDIRECT + "/more"),
            *[("client_id", v) for v in HOSTILE],
            *[("redirect_uri", v) for v in HOSTILE],
        ]:
            with self.subTest(field=field, value=value[:20]):
                params = authorize_params(self.app, SCOPE) | {field: value}
                answer = self.client.get("/oauth/authorize", params)
                self.assertEqual(answer.status_code, 400)
                self.assertFalse(answer.has_header("Location"))
                self.assertContains(answer, field, status_code=400)
        self.assertFalse(SmartGrant.objects.exists())

    def test_other_bad_parameters_go_back_to_the_app_naming_them(self) -> None:
        cases = [
            ("response_type", "token", "unsupported_response_type"),
            ("code_challenge_method", "plain", "invalid_request"),
            ("code_challenge", "short", "invalid_request"),
            ("code_challenge", "", "invalid_request"),
            ("aud", "https://other.example.org/fhir", "invalid_request"),
            ("scope", "patient/Nonsense.rs", "invalid_scope"),
            ("scope", "system/*.rs", "invalid_scope"),
            ("scope", "patient/Observation.x", "invalid_scope"),
            ("scope", "openid", "invalid_scope"),
            ("scope", "", "invalid_request"),
            ("launch", "abc", "invalid_request"),
            *[(f, v, None) for f in ("scope", "aud", "code_challenge") for v in HOSTILE[1:]],
            *[("state", v, None) for v in ("²", "\x00", "x" * 5000, "a\tb")],
        ]
        for field, value, error in cases:
            with self.subTest(field=field, value=value[:20]):
                params = authorize_params(self.app, SCOPE) | {field: value}
                for method in (self.client.get, self.client.post):
                    answer = method("/oauth/authorize", params)
                    self.assertEqual(answer.status_code, 302, answer.content[:200])
                    back = query_of(answer["Location"])
                    self.assertTrue(answer["Location"].startswith(REDIRECT))
                    if error is not None:
                        self.assertEqual(back["error"], error)
                    self.assertIn(field, back["error_description"])
        self.assertFalse(SmartGrant.objects.exists())

    def test_a_parameter_sent_twice_is_refused(self) -> None:
        query = "&".join(f"{k}={v}" for k, v in authorize_params(self.app, SCOPE).items())
        answer = self.client.get(f"/oauth/authorize?{query}&scope=user/*.rs")
        self.assertEqual(answer.status_code, 302)
        self.assertIn("scope: send it once", query_of(answer["Location"])["error_description"])

    def test_a_decision_other_than_allow_or_deny_changes_nothing(self) -> None:
        params = authorize_params(self.app, SCOPE)
        for decision in ("", "yes", "\x00", "²"):
            answer = self.client.post("/oauth/authorize", params | {"decision": decision})
            self.assertEqual(answer.status_code, 400)
        self.assertFalse(SmartGrant.objects.exists())


class TokenBadInputTest(ClinicTestCase):
    app: SmartApp
    secret: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app, _ = register(cls)

    def good(self) -> dict[str, str]:
        self.login(self.pat_user)
        return {
            "grant_type": "authorization_code",
            "code": get_code(self, self.app, SCOPE),
            "redirect_uri": REDIRECT,
            "client_id": self.app.client_id,
            "code_verifier": VERIFIER,
        }

    def assert_names(self, answer: Any, field: str, error: str = "invalid_request") -> None:
        self.assertIn(answer.status_code, (400, 401, 405), answer.content)
        said = body(answer)
        self.assertEqual(said["error"], error, said)
        self.assertTrue(said["error_description"].startswith(field), said)

    def test_each_missing_parameter_is_named(self) -> None:
        good = self.good()
        for field in ("grant_type", "code", "redirect_uri", "client_id", "code_verifier"):
            with self.subTest(field=field):
                data = {k: v for k, v in good.items() if k != field}
                self.assert_names(token_request(data), field)
        self.assertFalse(SmartToken.objects.exists())

    def test_each_hostile_value_is_refused_by_name(self) -> None:
        errors = {
            "grant_type": "unsupported_grant_type",
            "code": "invalid_grant",
            "redirect_uri": "invalid_grant",
            "client_id": "invalid_client",
            "code_verifier": "invalid_request",
        }
        for field, error in errors.items():
            for value in HOSTILE[1:]:
                with self.subTest(field=field, value=value[:20]):
                    answer = token_request(self.good() | {field: value})
                    expected = "invalid_request" if value in ("\x00", "x" * 5000) else error
                    self.assert_names(answer, field, expected)
        self.assertFalse(SmartToken.objects.exists())

    def test_the_body_must_be_a_form_posted_once_per_parameter(self) -> None:
        good = self.good()
        as_json = Client().post("/oauth/token", good, content_type="application/json")
        self.assert_names(as_json, "Content-Type")
        self.assert_names(Client().get("/oauth/token", good), "method")
        twice = "&".join(f"{k}={v}" for k, v in good.items()) + "&code=again"
        self.assert_names(Client().post("/oauth/token", twice, content_type=FORM), "code")
        self.assertFalse(SmartToken.objects.exists())

    def test_bad_client_authentication_is_invalid_client(self) -> None:
        app, secret = register(self, confidential=True)
        data = {"grant_type": "refresh_token", "refresh_token": "smartr_x"}
        for header in ("Basic !!!", "Bearer abc", "Basic " + "eA==", "Basic"):
            answer = Client().post(
                "/oauth/token", data, content_type=FORM, headers={"Authorization": header}
            )
            self.assert_names(answer, "Authorization", "invalid_client")
            self.assertEqual(answer["WWW-Authenticate"], 'Basic realm="oauth"')
        wrong = token_request(data, secret=(app.client_id, "wrong"))
        self.assert_names(wrong, "client_secret", "invalid_client")
        both = token_request(data | {"client_secret": secret}, secret=(app.client_id, secret))
        self.assert_names(both, "client_secret")
        bad_refresh = token_request(data, secret=(app.client_id, secret))
        self.assert_names(bad_refresh, "refresh_token", "invalid_grant")

    def test_refresh_parameters_are_named(self) -> None:
        base = {"grant_type": "refresh_token", "client_id": self.app.client_id}
        self.assert_names(token_request(base), "refresh_token")
        bad_scope = token_request(base | {"refresh_token": "smartr_x", "scope": "nonsense"})
        self.assert_names(bad_scope, "scope", "invalid_scope")


class RevokeBadInputTest(ClinicTestCase):
    def test_revocation_names_what_is_missing_and_hides_what_is_unknown(self) -> None:
        app, _ = register(self)
        post = Client().post
        missing = post("/oauth/revoke", f"client_id={app.client_id}", content_type=FORM)
        self.assertEqual(body(missing)["error_description"], "token: is required")
        hint = post(
            "/oauth/revoke",
            f"client_id={app.client_id}&token=x&token_type_hint=other",
            content_type=FORM,
        )
        self.assertTrue(body(hint)["error_description"].startswith("token_type_hint"))
        unknown = post("/oauth/revoke", f"client_id={app.client_id}&token=x", content_type=FORM)
        self.assertEqual(unknown.status_code, 200)
        nobody = post("/oauth/revoke", "client_id=nobody&token=x", content_type=FORM)
        self.assertEqual(nobody.status_code, 401)
