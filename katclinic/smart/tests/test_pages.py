"""An admin registers apps; people see what they connected and disconnect it."""

from __future__ import annotations

from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.smart.models import SmartApp, SmartGrant, hash_secret
from katclinic.smart.tests.helpers import REDIRECT, body, exchange, fhir_get, get_code, register
from katclinic.testing import ClinicTestCase


class RegisterAppTest(ClinicTestCase):
    def test_an_admin_registers_a_confidential_app_and_sees_its_secret_once(self) -> None:
        self.login(self.adam)
        answer = self.client.post(
            "/oauth/apps/register/",
            {
                "name": "Lab portal",
                "redirect_uris": "https://lab.example.org/cb\nhttp://localhost:8080/cb",
                "origins": "",
                "kind": "confidential",
            },
        )
        self.assertEqual(answer.status_code, 201)
        app = SmartApp.objects.get()
        secret = answer.context["secret"]
        self.assertTrue(secret)
        self.assertContains(answer, secret, status_code=201)
        self.assertContains(answer, app.client_id, status_code=201)
        self.assertEqual(app.secret_hash, hash_secret(secret))
        self.assertNotIn(secret, str(SmartApp.objects.values().get()))
        self.assertEqual(app.clinic, self.clinic)
        self.assertEqual(app.origins, ["http://localhost:8080", "https://lab.example.org"])
        listing = self.client.get("/oauth/apps/")
        self.assertContains(listing, "Lab portal")
        self.assertNotContains(listing, secret)
        self.assertTrue(
            AuditEvent.objects.filter(object_type="smart.app", object_id=str(app.pk)).exists()
        )

    def test_bad_registrations_name_the_field_and_save_nothing(self) -> None:
        self.login(self.adam)
        good = {
            "name": "Lab",
            "redirect_uris": "https://lab.example.org/cb",
            "origins": "",
            "kind": "public",
        }
        cases = [
            ("redirect_uris", "http://lab.example.org/cb"),
            ("redirect_uris", "https://lab.example.org/cb#frag"),
            ("redirect_uris", "javascript:alert(1)"),
            ("redirect_uris", ""),
            ("redirect_uris", "https://x.example.org/\x00"),
            ("origins", "ftp://files.example.org"),
            ("name", ""),
            ("name", "\x00"),
            ("kind", "secret"),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                answer = self.client.post("/oauth/apps/register/", good | {field: value})
                self.assertEqual(answer.status_code, 400)
                self.assertIn(field, answer.context["form"].errors)
        self.assertFalse(SmartApp.objects.exists())

    def test_only_an_admin_registers_and_another_clinics_app_is_not_found(self) -> None:
        app, _ = register(self)
        self.login(self.paula)
        self.assertEqual(self.client.get("/oauth/apps/").status_code, 403)
        self.login(self.oscar)
        self.assertEqual(self.client.post(f"/oauth/apps/{app.pk}/disable/").status_code, 403)
        self.assertIsNone(SmartApp.objects.get().disabled_at)


class ConnectedAppsTest(ClinicTestCase):
    def test_a_patient_sees_and_disconnects_an_app(self) -> None:
        app, _ = register(self)
        self.login(self.pat_user)
        raw = body(exchange(app, get_code(self, app, "launch/patient patient/*.rs")))[
            "access_token"
        ]
        home = self.client.get(reverse("portal:home", kwargs={"patient_id": self.pat.pk}))
        self.assertContains(home, 'href="/oauth/connected/"')
        page = self.client.get("/oauth/connected/")
        self.assertContains(page, "Mood diary")
        self.assertContains(page, "Read and search your whole record")
        grant = SmartGrant.objects.get()
        self.login(self.quinn_user)
        self.assertNotContains(self.client.get("/oauth/connected/"), "Mood diary")
        refused = self.client.post(f"/oauth/connected/{grant.pk}/disconnect/")
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", raw).status_code, 200)
        self.login(self.pat_user)
        done = self.client.post(f"/oauth/connected/{grant.pk}/disconnect/")
        self.assertEqual(done.status_code, 302)
        self.assertEqual(fhir_get(f"Patient/{self.pat.pk}", raw).status_code, 401)
        self.assertContains(self.client.get("/oauth/connected/"), "disconnected")
        self.assertEqual(REDIRECT, SmartGrant.objects.get().codes.get().redirect_uri)
