"""SMART EHR launch through real HTTP: from the chart's Launch app button, through the app's
launch address and the authorize request (PKCE), to reading that patient's Observations;
and every launch value that must not work refused, with nothing stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.fhir.tests.factories import make_response
from katclinic.smart import services
from katclinic.smart.models import AuthorizationCode, EhrLaunch, SmartApp, SmartGrant
from katclinic.smart.tests.helpers import (
    AUD,
    REDIRECT,
    authorize_params,
    body,
    exchange,
    fhir_get,
    query_of,
    register,
)
from katclinic.testing import ClinicTestCase

LAUNCH_URL = "https://viewer.example.org/launch"
SCOPE = "launch patient/Observation.rs patient/Patient.rs openid fhirUser"


def register_launchable(test: Any, name: str = "Chart viewer") -> SmartApp:
    app, _ = services.register_app(
        clinic=test.clinic,
        name=name,
        redirect_uris=[REDIRECT],
        origins=[],
        confidential=False,
        launch_url=LAUNCH_URL,
        by=test.adam,
    )
    return app


class EhrLaunchTest(ClinicTestCase):
    app: SmartApp

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app = register_launchable(cls)

    def launch(self, patient_id: int | None = None, app: SmartApp | None = None) -> str:
        """Press Launch app on the chart; return the launch value the app receives."""
        answer = self.client.post(
            f"/oauth/launch/{patient_id or self.pat.pk}/", {"app": (app or self.app).pk}
        )
        self.assertEqual(answer.status_code, 302, answer.content[:300])
        self.assertTrue(answer["Location"].startswith(f"{LAUNCH_URL}?"))
        sent = query_of(answer["Location"])
        self.assertEqual(sent["iss"], AUD)
        return sent["launch"]

    def authorize(self, launch: str, scope: str = SCOPE, **extra: str) -> dict[str, str]:
        """The app's authorize request with its launch value; allowed on the consent page.
        Returns what the app is sent back (a code, or an OAuth error)."""
        params = authorize_params(self.app, scope, launch=launch, **extra)
        page = self.client.get("/oauth/authorize", params)
        if page.status_code == 302:
            return query_of(page["Location"])
        self.assertEqual(page.status_code, 200, page.content[:300])
        answer = self.client.post("/oauth/authorize", params | {"decision": "allow"})
        self.assertEqual(answer.status_code, 302, answer.content[:300])
        return query_of(answer["Location"])

    def test_the_chart_offers_apps_with_a_launch_address_to_clinical_staff(self) -> None:
        register(self)  # an app without a launch address is not offered
        self.login(self.paula)
        chart = self.client.get(f"/patients/{self.pat.pk}/")
        self.assertContains(chart, "Launch app")
        self.assertContains(chart, f'<option value="{self.app.pk}">Chart viewer</option>')
        self.assertNotContains(chart, "Mood diary")
        self.login(self.alice)  # front desk: no clinical chart, no launch
        self.assertNotContains(self.client.get(f"/patients/{self.pat.pk}/"), "Launch app")

    def test_a_launch_from_the_chart_reads_that_patients_observations(self) -> None:
        mine = make_response(self.pat, total=14)
        make_response(self.quinn, total=21)
        self.login(self.paula)
        raw = self.launch()
        stored = EhrLaunch.objects.get()
        self.assertEqual(
            (stored.user_id, stored.clinic_id, stored.patient_id, stored.app_id),
            (self.paula.pk, self.clinic.pk, self.pat.pk, self.app.pk),
        )
        self.assertNotEqual(stored.value_hash, raw)  # kept hashed
        page = self.client.get("/oauth/authorize", authorize_params(self.app, SCOPE, launch=raw))
        self.assertContains(page, "Pat Doe")
        self.assertNotContains(page, "Which patient?")
        back = self.authorize(raw)
        tokens = body(exchange(self.app, back["code"]))
        self.assertEqual(tokens["patient"], str(self.pat.pk))
        self.assertIn("launch", tokens["scope"].split())
        self.assertIn("id_token", tokens)
        found = body(fhir_get("Observation", tokens["access_token"]))
        subjects = {e["resource"]["subject"]["reference"] for e in found["entry"]}
        self.assertEqual(subjects, {f"Patient/{self.pat.pk}"})
        self.assertTrue(any(e["resource"]["id"].startswith(str(mine.pk)) for e in found["entry"]))
        quinns = fhir_get("Observation", tokens["access_token"], patient=f"Patient/{self.quinn.pk}")
        self.assertEqual(quinns.status_code, 404)
        self.assertIsNotNone(EhrLaunch.objects.get().used_at)
        launched = AuditEvent.objects.get(detail__event="SMART app launched from the chart")
        self.assertEqual((launched.patient_id, launched.user_id), (self.pat.pk, self.paula.pk))
        allowed = AuditEvent.objects.get(detail__event="SMART app allowed")
        self.assertEqual(allowed.detail["launch"], stored.pk)

    def test_user_scopes_are_limited_by_the_staff_members_roles(self) -> None:
        self.login(self.tara)  # a therapist sees the clinical chart but not billing
        back = self.authorize(self.launch(), scope="launch user/*.rs")
        tokens = body(exchange(self.app, back["code"]))
        self.assertEqual(tokens["patient"], str(self.pat.pk))  # the launch's context
        raw = tokens["access_token"]
        self.assertEqual(fhir_get(f"Patient/{self.quinn.pk}", raw).status_code, 200)  # user/
        self.assertEqual(fhir_get("ChargeItem", raw).status_code, 403)
        self.assertEqual(fhir_get(f"Patient/{self.stranger.pk}", raw).status_code, 404)

    def assert_refused(self, back: dict[str, str], why: str) -> None:
        self.assertEqual(back["error"], "invalid_request")
        self.assertTrue(back["error_description"].startswith("launch:"), back)
        self.assertIn(why, back["error_description"])
        self.assertEqual(back["state"], "s-123")

    def test_an_unknown_launch_is_refused_and_nothing_stored(self) -> None:
        self.login(self.paula)
        for raw in ("smartl_unknown", "abc", "x" * 200):
            with self.subTest(raw=raw[:20]):
                self.assert_refused(self.authorize(raw), "not a launch")
        self.assertFalse(SmartGrant.objects.exists())
        self.assertFalse(AuthorizationCode.objects.exists())

    def test_a_used_launch_is_refused(self) -> None:
        self.login(self.paula)
        raw = self.launch()
        self.assertIn("code", self.authorize(raw))
        self.assert_refused(self.authorize(raw), "already used")
        self.assertEqual(SmartGrant.objects.count(), 1)
        # Allowing the consent page a second time (a replayed POST) stores nothing either.
        params = authorize_params(self.app, SCOPE, launch=raw) | {"decision": "allow"}
        replay = query_of(self.client.post("/oauth/authorize", params)["Location"])
        self.assert_refused(replay, "already used")
        self.assertEqual(SmartGrant.objects.count(), 1)

    def test_a_launch_used_while_its_consent_page_was_open_is_refused(self) -> None:
        self.login(self.paula)
        raw = self.launch()
        params = authorize_params(self.app, SCOPE, launch=raw)
        self.assertEqual(self.client.get("/oauth/authorize", params).status_code, 200)
        EhrLaunch.objects.update(used_at=timezone.now())
        answer = self.client.post("/oauth/authorize", params | {"decision": "allow"})
        self.assert_refused(query_of(answer["Location"]), "already used")
        self.assertFalse(SmartGrant.objects.exists())

    def test_an_expired_launch_is_refused(self) -> None:
        self.login(self.paula)
        raw = self.launch()
        EhrLaunch.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assert_refused(self.authorize(raw), "expired")
        self.assertFalse(SmartGrant.objects.exists())
        self.assertIsNone(EhrLaunch.objects.get().used_at)

    def test_another_persons_launch_is_refused(self) -> None:
        self.login(self.nick)
        raw = self.launch()
        self.login(self.paula)
        self.assert_refused(self.authorize(raw), "another person")
        self.login(self.pat_user)  # a patient cannot use a staff member's launch either
        self.assert_refused(self.authorize(raw), "another person")
        self.assertFalse(SmartGrant.objects.exists())
        self.assertIsNone(EhrLaunch.objects.get().used_at)

    def test_another_apps_launch_is_refused(self) -> None:
        other = register_launchable(self, name="Other viewer")
        self.login(self.paula)
        raw = self.launch(app=other)
        self.assert_refused(self.authorize(raw), "not a launch")
        self.assertFalse(SmartGrant.objects.exists())

    def test_launch_and_its_scope_go_together(self) -> None:
        self.login(self.paula)
        without_value = self.authorize("", scope=SCOPE)
        self.assert_refused(without_value, "required")
        raw = self.launch()
        without_scope = self.authorize(raw, scope="patient/Observation.rs")
        self.assert_refused(without_scope, "launch scope")
        self.assertFalse(SmartGrant.objects.exists())
        self.assertIsNone(EhrLaunch.objects.get().used_at)


class LaunchButtonTest(ClinicTestCase):
    app: SmartApp

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app = register_launchable(cls)

    def post(self, patient_id: int, data: dict[str, Any]) -> Any:
        return self.client.post(f"/oauth/launch/{patient_id}/", data)

    def test_a_bad_app_choice_names_the_field_and_stores_nothing(self) -> None:
        plain = register(self)[0]  # registered without a launch address
        services.disable_app(app=register_launchable(self, "Stopped"), by=self.adam)
        self.login(self.paula)
        for value in ("", "abc", "-1", "99999999999999", str(plain.pk), "²"):
            with self.subTest(value=value):
                answer = self.post(self.pat.pk, {"app": value})
                self.assertEqual(answer.status_code, 400)
                self.assertContains(answer, "app:", status_code=400)
        stopped = SmartApp.objects.get(name="Stopped")
        self.assertEqual(self.post(self.pat.pk, {"app": stopped.pk}).status_code, 400)
        self.assertFalse(EhrLaunch.objects.exists())

    def test_only_staff_who_see_the_clinical_chart_launch(self) -> None:
        self.login(self.alice)
        self.assertEqual(self.post(self.pat.pk, {"app": self.app.pk}).status_code, 403)
        self.login(self.pat_user)
        self.assertEqual(self.post(self.pat.pk, {"app": self.app.pk}).status_code, 403)
        self.login(self.oscar)  # another clinic: the patient is not found there
        self.assertEqual(self.post(self.pat.pk, {"app": self.app.pk}).status_code, 404)
        self.login(self.paula)  # the stranger is another clinic's patient
        self.assertEqual(self.post(self.stranger.pk, {"app": self.app.pk}).status_code, 404)
        self.assertFalse(EhrLaunch.objects.exists())

    def test_an_admin_registers_an_app_with_its_launch_address(self) -> None:
        self.login(self.adam)
        data = {
            "name": "Viewer",
            "redirect_uris": REDIRECT,
            "origins": "",
            "kind": "public",
            "launch_url": "https://viewer.example.org/ehr",
        }
        answer = self.client.post("/oauth/apps/register/", data)
        self.assertEqual(answer.status_code, 201)
        self.assertEqual(SmartApp.objects.get(name="Viewer").launch_url, data["launch_url"])
        refused = self.client.post(
            "/oauth/apps/register/", data | {"name": "Bad", "launch_url": "ftp://x.example"}
        )
        self.assertEqual(refused.status_code, 400)
        self.assertIn("launch_url", refused.context["form"].errors)
        self.assertFalse(SmartApp.objects.filter(name="Bad").exists())
