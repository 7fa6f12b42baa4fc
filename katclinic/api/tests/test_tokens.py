"""API tokens: expiry by default, revocation, last use, scopes, the web page and the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from katclinic.api import services
from katclinic.api.models import ApiToken, Scope, hash_token
from katclinic.audit.models import Action, AuditEvent
from katclinic.testing import ClinicTestCase


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


class TokenLifecycleTest(ClinicTestCase):
    def test_a_token_expires_by_default(self) -> None:
        token, _ = ApiToken.issue(user=self.paula, clinic=self.clinic, name="t", scopes=[])
        assert token.expires_at is not None
        lifetime = token.expires_at - timezone.now()
        self.assertAlmostEqual(lifetime.days, settings.API_TOKEN_DAYS, delta=1)

    def test_expired_and_revoked_tokens_are_refused_with_401(self) -> None:
        url = reverse("api:patients_list")
        token, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=[Scope.PATIENTS_READ]
        )
        self.assertContains(self.client.get(url, headers=bearer(raw)), self.pat.mrn)
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        expired = self.client.get(url, headers=bearer(raw))
        self.assertEqual(expired.status_code, 401)
        self.assertNotContains(expired, self.pat.mrn, status_code=401)
        token2, raw2 = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t2", scopes=[Scope.PATIENTS_READ]
        )
        services.revoke_token(token=token2, by=self.paula)
        revoked = self.client.get(url, headers=bearer(raw2))
        self.assertEqual(revoked.status_code, 401)
        self.assertNotContains(revoked, self.pat.mrn, status_code=401)
        fhir = self.client.get("/fhir/R4/Patient", headers=bearer(raw2))
        self.assertEqual(fhir.status_code, 401)
        self.assertNotContains(fhir, self.pat.mrn, status_code=401)
        # Neither refused token counts as used.
        token2.refresh_from_db()
        self.assertIsNone(token2.last_used_at)

    def test_a_scope_the_token_lacks_is_refused_403(self) -> None:
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=[Scope.MEASURES_READ]
        )
        url = reverse("api:patients_list")
        response = self.client.get(url, headers=bearer(raw))
        self.assertEqual(response.status_code, 403)
        self.assertNotContains(response, self.pat.mrn, status_code=403)
        self.assertDenialsRecorded(url)
        denial = AuditEvent.objects.get(action=Action.DENIED)
        self.assertEqual(denial.detail["reason"], "token lacks scope patients:read")

    def test_last_use_is_recorded_at_most_once_a_minute(self) -> None:
        token, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=[Scope.PATIENTS_READ]
        )
        self.client.get(reverse("api:patients_list"), headers=bearer(raw))
        token.refresh_from_db()
        first = token.last_used_at
        self.assertIsNotNone(first)
        self.client.get(reverse("api:patients_list"), headers=bearer(raw))
        token.refresh_from_db()
        self.assertEqual(token.last_used_at, first)

    def test_the_secret_is_stored_only_as_its_hash(self) -> None:
        token, raw = services.issue_token(
            user=self.paula, clinic=self.clinic, name="t", scopes=["patients:read"], days=5, by=None
        )
        self.assertEqual(token.token_hash, hash_token(raw))
        self.assertFalse(ApiToken.objects.filter(token_hash=raw).exists())
        self.assertNotIn(raw, token.prefix + token.name)

    def test_bad_input_names_the_field_and_stores_nothing(self) -> None:
        before = ApiToken.objects.count()
        cases: list[tuple[dict[str, Any], str]] = [
            ({"name": "", "scopes": ["patients:read"], "days": 5}, "name"),
            ({"name": "x", "scopes": [], "days": 5}, "scopes"),
            ({"name": "x", "scopes": ["root"], "days": 5}, "scopes"),
            ({"name": "x", "scopes": ["patients:read"], "days": 0}, "days"),
            ({"name": "x", "scopes": ["patients:read"], "days": 10_000}, "days"),
        ]
        for kwargs, field in cases:
            with self.assertRaises(services.TokenRefused) as caught:
                services.issue_token(user=self.paula, clinic=self.clinic, by=None, **kwargs)
            self.assertTrue(str(caught.exception).startswith(field), kwargs)
        self.assertEqual(ApiToken.objects.count(), before)


class TokenPageTest(ClinicTestCase):
    def test_staff_issue_a_scoped_expiring_token_and_see_the_secret_once(self) -> None:
        self.login(self.nick)
        before = AuditEvent.objects.count()
        response = self.client.post(
            reverse("tokens:issue"),
            {"name": "lab interface", "scopes": ["patients:read"], "days": "30"},
        )
        self.assertEqual(response.status_code, 201)
        token = ApiToken.objects.get(name="lab interface")
        secret = response.context["secret"]
        self.assertEqual(token.token_hash, hash_token(secret))
        self.assertEqual(token.user, self.nick)
        self.assertEqual(token.scopes, ["patients:read"])
        assert token.expires_at is not None
        self.assertAlmostEqual((token.expires_at - timezone.now()).days, 30, delta=1)
        self.assertContains(response, secret, status_code=201)
        event = AuditEvent.objects.order_by("pk")[before:].get(object_type="api.token")
        self.assertEqual(event.action, Action.SECURITY)
        page = self.client.get(reverse("tokens:list"))
        self.assertContains(page, "lab interface")
        self.assertNotContains(page, secret)

    def test_bad_form_input_is_400_naming_the_field_and_stores_nothing(self) -> None:
        self.login(self.nick)
        before = ApiToken.objects.count()
        for data, field in [
            ({"name": "x", "scopes": ["patients:read"], "days": "²"}, "days"),
            ({"name": "x", "scopes": ["patients:read"], "days": "9" * 30}, "days"),
            ({"name": "x", "scopes": ["nope"], "days": "3"}, "scopes"),
            ({"name": "x\x00", "scopes": ["patients:read"], "days": "3"}, "name"),
        ]:
            response = self.client.post(reverse("tokens:issue"), data)
            self.assertEqual(response.status_code, 400, data)
            self.assertIn(field, response.context["form"].errors, data)
        self.assertEqual(ApiToken.objects.count(), before)

    def test_another_users_token_cannot_be_revoked_by_a_non_admin(self) -> None:
        token, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="p", scopes=[Scope.PATIENTS_READ]
        )
        self.login(self.nick)
        response = self.client.post(reverse("tokens:revoke", kwargs={"token_id": token.pk}))
        self.assertEqual(response.status_code, 404)
        token.refresh_from_db()
        self.assertIsNone(token.revoked_at)
        self.assertNotContains(self.client.get(reverse("tokens:list")), "p (")

    def test_owner_revokes_their_own_and_an_admin_revokes_the_clinics(self) -> None:
        own, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="mine", scopes=[Scope.PATIENTS_READ]
        )
        self.login(self.nick)
        self.assertEqual(
            self.client.post(reverse("tokens:revoke", kwargs={"token_id": own.pk})).status_code,
            302,
        )
        own.refresh_from_db()
        self.assertIsNotNone(own.revoked_at)
        theirs, _ = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="theirs", scopes=[Scope.PATIENTS_READ]
        )
        self.login(self.adam)
        self.assertContains(self.client.get(reverse("tokens:list")), "theirs")
        self.client.post(reverse("tokens:revoke", kwargs={"token_id": theirs.pk}))
        theirs.refresh_from_db()
        self.assertIsNotNone(theirs.revoked_at)
        revoked = AuditEvent.objects.filter(object_type="api.token", object_id=str(theirs.pk))
        self.assertEqual(revoked.get().detail["event"], "token revoked")

    def test_another_clinics_admin_cannot_revoke(self) -> None:
        token, _ = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="p", scopes=[Scope.PATIENTS_READ]
        )
        self.login(self.oscar)
        response = self.client.post(reverse("tokens:revoke", kwargs={"token_id": token.pk}))
        self.assertEqual(response.status_code, 404)
        token.refresh_from_db()
        self.assertIsNone(token.revoked_at)


class TokenCommandTest(ClinicTestCase):
    def run_command(self, *args: str) -> str:
        out = StringIO()
        call_command("api_token", *args, stdout=out)
        return out.getvalue()

    def test_issue_list_revoke(self) -> None:
        out = self.run_command(
            "issue",
            "--user",
            "paula@example.org",
            "--clinic",
            "north",
            "--name",
            "lab",
            "--scope",
            "patients:read",
            "--days",
            "7",
        )
        raw = out.strip().splitlines()[-1]
        token = ApiToken.objects.get(token_hash=hash_token(raw))
        self.assertIn("usable", self.run_command("list", "--clinic", "north"))
        self.assertIn("revoked", self.run_command("revoke", str(token.pk)))
        self.assertEqual(
            self.client.get(reverse("api:patients_list"), headers=bearer(raw)).status_code, 401
        )

    def test_bad_input_is_refused_by_name(self) -> None:
        before = ApiToken.objects.count()
        with self.assertRaisesMessage(CommandError, "--user"):
            self.run_command(
                "issue",
                "--user",
                "oscar@example.org",
                "--clinic",
                "north",
                "--name",
                "x",
                "--scope",
                "patients:read",
            )
        with self.assertRaisesMessage(CommandError, "--days"):
            self.run_command(
                "issue",
                "--user",
                "paula@example.org",
                "--clinic",
                "north",
                "--name",
                "x",
                "--scope",
                "patients:read",
                "--days",
                "0",
            )
        with self.assertRaisesMessage(CommandError, "id"):
            self.run_command("revoke", "²")
        self.assertEqual(ApiToken.objects.count(), before)
