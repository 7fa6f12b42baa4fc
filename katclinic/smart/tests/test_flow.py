"""A SMART app's standalone launch through real HTTP, from the consent page to revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.fhir.tests.factories import make_response
from katclinic.smart.models import AuthorizationCode, SmartApp, SmartGrant, SmartToken, hash_secret
from katclinic.smart.tests.helpers import (
    REDIRECT,
    VERIFIER,
    authorize_params,
    body,
    exchange,
    fhir_get,
    get_code,
    query_of,
    register,
    token_request,
)
from katclinic.testing import ClinicTestCase

PATIENT_SCOPE = "launch/patient patient/Observation.rs patient/Patient.rs offline_access openid"


class PatientLaunchTest(ClinicTestCase):
    app: SmartApp
    secret: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app, _ = register(cls)

    def launch(self, scope: str = PATIENT_SCOPE) -> dict[str, str]:
        self.login(self.pat_user)
        answer = exchange(self.app, get_code(self, self.app, scope))
        self.assertEqual(answer.status_code, 200, answer.content)
        return body(answer)

    def refresh(self, refresh_token: str, **extra: str) -> Any:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return token_request(data | {"client_id": self.app.client_id} | extra)

    def test_authorize_consent_token_read_refresh_revoke(self) -> None:
        mine = make_response(self.pat)
        make_response(self.quinn)
        tokens = self.launch()
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["expires_in"], 3600)
        self.assertEqual(tokens["patient"], str(self.pat.pk))
        self.assertEqual(
            tokens["scope"],
            "patient/Observation.rs patient/Patient.rs launch/patient offline_access openid",
        )
        # Stored hashed, never raw.
        self.assertTrue(SmartToken.objects.filter(token_hash=hash_secret(tokens["access_token"])))
        self.assertFalse(SmartToken.objects.filter(token_hash=tokens["access_token"]))
        read = fhir_get(f"Patient/{self.pat.pk}", tokens["access_token"])
        self.assertEqual(read.status_code, 200)
        self.assertEqual(body(read)["id"], str(self.pat.pk))
        # A patient scope needs no patient= parameter: the search is the patient's own.
        found = body(fhir_get("Observation", tokens["access_token"]))
        ids = {e["resource"]["subject"]["reference"] for e in found["entry"]}
        self.assertEqual(ids, {f"Patient/{self.pat.pk}"})
        self.assertTrue(any(e["resource"]["id"].startswith(str(mine.pk)) for e in found["entry"]))

        renewed = self.refresh(tokens["refresh_token"])
        self.assertEqual(renewed.status_code, 200, renewed.content)
        fresh = body(renewed)
        self.assertNotEqual(fresh["refresh_token"], tokens["refresh_token"])
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", fresh["access_token"]).status_code, 200)

        revoked = Client().post(
            "/oauth/revoke",
            f"token={fresh['access_token']}&client_id={self.app.client_id}",
            content_type="application/x-www-form-urlencoded",
        )
        self.assertEqual(revoked.status_code, 200)
        for raw in (fresh["access_token"], tokens["access_token"]):
            answer = fhir_get(f"Patient/{self.pat.pk}", raw)
            self.assertEqual(answer.status_code, 401)
            self.assertEqual(body(answer)["resourceType"], "OperationOutcome")
        self.assertEqual(self.refresh(fresh["refresh_token"]).status_code, 400)
        self.assert_audited()

    def assert_audited(self) -> None:
        """Each grant, issue, refresh and revocation is an event; each read names the app."""
        events = AuditEvent.objects.filter(object_type="smart.grant").values_list(
            "detail", flat=True
        )
        said = [e["event"] for e in events]
        for event in (
            "SMART app allowed",
            "SMART token issued",
            "SMART token refreshed",
            "SMART access revoked by the app",
        ):
            self.assertIn(event, said)
        reads = AuditEvent.objects.filter(object_type="fhir.Patient", patient_id=self.pat.pk)
        self.assertTrue(any(e.detail.get("app") == "Mood diary" for e in reads))

    def test_a_wrong_verifier_is_refused_and_spends_the_code(self) -> None:
        self.login(self.pat_user)
        code = get_code(self, self.app, PATIENT_SCOPE)
        wrong = exchange(self.app, code, verifier="b" * 50)
        self.assertEqual(wrong.status_code, 400)
        self.assertEqual(body(wrong)["error"], "invalid_grant")
        self.assertTrue(body(wrong)["error_description"].startswith("code_verifier"))
        self.assertFalse(SmartToken.objects.exists())
        self.assertEqual(exchange(self.app, code).status_code, 400)
        self.assertFalse(SmartToken.objects.exists())

    def test_a_code_used_twice_revokes_what_it_gave(self) -> None:
        self.login(self.pat_user)
        code = get_code(self, self.app, PATIENT_SCOPE)
        first = body(exchange(self.app, code))
        again = exchange(self.app, code)
        self.assertEqual(body(again)["error"], "invalid_grant")
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", first["access_token"]).status_code, 401)

    def test_a_refresh_token_used_twice_revokes_the_grant(self) -> None:
        tokens = self.launch()
        fresh = body(self.refresh(tokens["refresh_token"]))
        replay = self.refresh(tokens["refresh_token"])
        self.assertEqual(body(replay)["error"], "invalid_grant")
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", fresh["access_token"]).status_code, 401)
        self.assertIsNotNone(SmartGrant.objects.get().revoked_at)

    def test_a_refresh_may_narrow_but_not_widen(self) -> None:
        tokens = self.launch()
        wider = self.refresh(tokens["refresh_token"], scope="patient/*.rs")
        self.assertEqual(body(wider)["error"], "invalid_scope")
        narrower = body(self.refresh(tokens["refresh_token"], scope="patient/Patient.r"))
        self.assertEqual(narrower["scope"], "patient/Patient.r")
        self.assertEqual(fhir_get("Observation", narrower["access_token"]).status_code, 403)
        self.assertNotIn("refresh_token", narrower)

    def test_a_patient_token_never_reads_another_patient(self) -> None:
        theirs = make_response(self.quinn)
        raw = self.launch()["access_token"]
        self.assertEqual(fhir_get(f"Patient/{self.quinn.pk}", raw).status_code, 404)
        self.assertEqual(
            fhir_get("Observation", raw, patient=f"Patient/{self.quinn.pk}").status_code, 404
        )
        self.assertEqual(fhir_get(f"Observation/{theirs.pk}", raw).status_code, 404)
        self.assertEqual(fhir_get(f"Patient/{self.stranger.pk}", raw).status_code, 404)
        everything = fhir_get(f"Patient/{self.quinn.pk}/$everything", raw)
        self.assertIn(everything.status_code, (403, 404))

    def test_a_type_outside_the_scopes_is_forbidden(self) -> None:
        raw = self.launch("launch/patient patient/Observation.rs")["access_token"]
        refused = fhir_get(f"Patient/{self.pat.pk}", raw)
        self.assertEqual(refused.status_code, 403)
        self.assertNotContains(refused, self.pat.last_name, status_code=403)
        self.assertEqual(fhir_get("Appointment", raw).status_code, 403)
        allowed = fhir_get("Observation", raw)
        self.assertEqual(allowed.status_code, 200)
        self.assertEqual(allowed.json()["resourceType"], "Bundle")
        read_only = self.launch("launch/patient patient/Observation.r")["access_token"]
        search = fhir_get("Observation", read_only)
        self.assertEqual(search.status_code, 403)
        self.assertEqual(search.json()["resourceType"], "OperationOutcome")

    def test_an_app_may_not_write(self) -> None:
        raw = self.launch("launch/patient patient/*.cruds")["access_token"]
        before = self.pat.__class__.objects.count()
        answer = Client().post(
            "/fhir/R4/Patient",
            {"resourceType": "Patient", "name": [{"family": "New"}]},
            content_type="application/fhir+json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        self.assertEqual(answer.status_code, 403)
        self.assertEqual(self.pat.__class__.objects.count(), before)

    def test_an_expired_token_is_refused(self) -> None:
        raw = self.launch()["access_token"]
        SmartToken.objects.filter(kind="access").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        response = fhir_get(f"Patient/{self.pat.pk}", raw)
        self.assertEqual(response.status_code, 401)
        self.assertNotContains(response, self.pat.last_name, status_code=401)

    def test_an_expired_code_is_refused(self) -> None:
        self.login(self.pat_user)
        code = get_code(self, self.app, PATIENT_SCOPE)
        AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        answer = exchange(self.app, code)
        self.assertEqual(body(answer)["error"], "invalid_grant")
        self.assertIn("expired", body(answer)["error_description"])

    def test_a_disabled_app_loses_its_tokens(self) -> None:
        from katclinic.smart import services

        raw = self.launch()["access_token"]
        services.disable_app(app=self.app, by=self.adam)
        response = fhir_get(f"Patient/{self.pat.pk}", raw)
        self.assertEqual(response.status_code, 401)
        self.assertNotContains(response, self.pat.last_name, status_code=401)
        self.assertFalse(SmartGrant.objects.filter(app=self.app, revoked_at__isnull=True).exists())

    def test_denying_sends_access_denied_back(self) -> None:
        self.login(self.pat_user)
        params = authorize_params(self.app, PATIENT_SCOPE)
        answer = self.client.post("/oauth/authorize", params | {"decision": "deny"})
        self.assertEqual(answer.status_code, 302)
        self.assertEqual(query_of(answer["Location"])["error"], "access_denied")
        self.assertFalse(SmartGrant.objects.exists())

    def test_signed_out_people_sign_in_first_and_come_back(self) -> None:
        params = authorize_params(self.app, PATIENT_SCOPE)
        answer = self.client.get("/oauth/authorize", params)
        self.assertEqual(answer.status_code, 302)
        self.assertTrue(answer["Location"].startswith("/accounts/login/?next="))
        self.assertIn("oauth%2Fauthorize", answer["Location"])

    def test_the_consent_page_says_what_the_app_asks_for(self) -> None:
        self.login(self.pat_user)
        page = self.client.get("/oauth/authorize", authorize_params(self.app, PATIENT_SCOPE))
        self.assertContains(page, "Mood diary")
        self.assertContains(page, "Read and search your questionnaire scores and measurements")
        self.assertContains(page, "diary.example.org")
        self.assertNotContains(page, "<li>patient/")


class StaffLaunchTest(ClinicTestCase):
    app: SmartApp
    secret: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.app, cls.secret = register(cls, confidential=True)

    def exchange_confidential(self, code: str) -> dict[str, str]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }
        refused = token_request(data | {"client_id": self.app.client_id})
        self.assertEqual(refused.status_code, 401)
        self.assertEqual(body(refused)["error"], "invalid_client")
        answer = token_request(data, secret=(self.app.client_id, self.secret))
        self.assertEqual(answer.status_code, 200, answer.content)
        return body(answer)

    def test_staff_pick_the_patient_for_patient_scopes(self) -> None:
        self.login(self.paula)
        params = authorize_params(self.app, "launch/patient patient/*.rs")
        missing = self.client.post("/oauth/authorize", params | {"decision": "allow"})
        self.assertEqual(missing.status_code, 400)
        self.assertContains(missing, "record number", status_code=400)
        self.assertFalse(SmartGrant.objects.exists())
        code = get_code(self, self.app, "launch/patient patient/*.rs", mrn=self.pat.mrn)
        tokens = self.exchange_confidential(code)
        self.assertEqual(tokens["patient"], str(self.pat.pk))
        raw = tokens["access_token"]
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", raw).status_code, 200)
        self.assertEqual(fhir_get(f"Patient/{self.quinn.pk}", raw).status_code, 404)
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}/$everything", raw).status_code, 200)

    def test_user_scopes_are_the_staff_members_own_access(self) -> None:
        self.login(self.alice)  # front desk: demographics, not clinical data
        tokens = self.exchange_confidential(get_code(self, self.app, "user/*.rs"))
        self.assertNotIn("patient", tokens)
        raw = tokens["access_token"]
        patients = body(fhir_get("Patient", raw))
        self.assertEqual(patients["total"], 2)  # clinic A's two, not clinic B's
        self.assertEqual(fhir_get("Observation", raw).status_code, 403)
        self.login(self.paula)
        paula = self.exchange_confidential(get_code(self, self.app, "user/Patient.rs"))
        self.assertEqual(fhir_get("Patient", paula["access_token"]).status_code, 200)
        self.assertEqual(fhir_get("Observation", paula["access_token"]).status_code, 403)

    def test_staff_of_another_clinic_cannot_allow_this_clinics_app(self) -> None:
        self.login(self.oscar)
        page = self.client.get("/oauth/authorize", authorize_params(self.app, "user/*.rs"))
        self.assertEqual(page.status_code, 403)
        self.assertFalse(SmartGrant.objects.exists())
