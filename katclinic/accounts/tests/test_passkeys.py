"""Passkeys as the second sign-in step, driven through the real pages with a software
authenticator (katclinic.accounts.tests.softauthn)."""

from __future__ import annotations

import json
from typing import Any

import pyotp
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from katclinic.accounts import passkeys
from katclinic.accounts.models import FailureStep, LoginFailure, Passkey, TotpDevice, User
from katclinic.accounts.tests.softauthn import SoftAuthenticator
from katclinic.audit.models import Action, AuditEvent
from katclinic.testing import PASSWORD, ClinicTestCase

LOOK_ALIKE = "https://katclinic.example.net"


class PasskeyTestCase(ClinicTestCase):
    def setUp(self) -> None:
        TotpDevice.objects.create(
            user=self.nick, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )

    def device(self) -> SoftAuthenticator:
        return SoftAuthenticator(rp_id=settings.WEBAUTHN_RP_ID, origin=settings.WEBAUTHN_ORIGINS[0])

    def options(self, url: str, client: Client | None = None) -> dict[str, Any]:
        response = (client or self.client).post(url)
        self.assertEqual(response.status_code, 200, response.content)
        options: dict[str, Any] = response.json()
        return options

    def add(self, device: SoftAuthenticator, name: str = "Work laptop", **kw: Any) -> int:
        """Register `device` as the signed-in person; returns the page's status."""
        options = self.options("/accounts/security/passkeys/options/")
        answer = device.create(options, **kw)
        response = self.client.post(
            "/accounts/security/passkeys/", {"name": name, "credential": json.dumps(answer)}
        )
        return response.status_code

    def enrolled(self, user: User) -> SoftAuthenticator:
        self.login(user)
        device = self.device()
        self.assertEqual(self.add(device), 302)
        self.client.logout()
        return device

    def password_step(self, user: User) -> int:
        return self.client.post(
            "/accounts/login/?next=/patients/", {"email": user.email, "password": PASSWORD}
        ).status_code

    def passkey_step(self, device: SoftAuthenticator, **kw: Any) -> Any:
        options = self.options("/accounts/second-factor/passkey/options/")
        return self.post_answer(device.get(options, **kw))

    def post_answer(self, answer: dict[str, Any] | str) -> Any:
        raw = answer if isinstance(answer, str) else json.dumps(answer)
        return self.client.post("/accounts/second-factor/passkey/", {"credential": raw})

    def fully_signed_in(self) -> bool:
        return bool(self.client.session.get("otp_ok"))

    def failures(self) -> int:
        return LoginFailure.objects.filter(step=FailureStep.SECOND_FACTOR).count()


class RegisterTest(PasskeyTestCase):
    def test_a_staff_member_adds_a_passkey_and_sees_it_listed(self) -> None:
        self.login(self.nick)
        device = self.device()
        self.assertEqual(self.add(device, name="  Work   laptop "), 302)
        passkey = Passkey.objects.get(user=self.nick)
        self.assertEqual(passkey.name, "Work laptop")
        self.assertEqual(passkey.sign_count, 0)
        self.assertEqual(passkey.transports, ["internal"])
        self.assertIsNone(passkey.last_used_at)
        event = AuditEvent.objects.get(detail__change="passkey registered")
        self.assertEqual((event.user, event.detail["passkey"]), (self.nick, passkey.pk))
        page = self.client.get("/accounts/security/")
        self.assertContains(page, "Work laptop")
        self.assertContains(page, "Not yet")

    def test_a_second_passkey_is_offered_the_first_to_exclude(self) -> None:
        self.login(self.nick)
        first = self.device()
        self.add(first, name="Laptop")
        options = self.options("/accounts/security/passkeys/options/")
        excluded = [c["id"] for c in options["excludeCredentials"]]
        self.assertEqual(excluded, [Passkey.objects.get().credential_id])
        self.assertEqual(options["authenticatorSelection"]["userVerification"], "required")
        self.assertEqual(options["rp"]["id"], settings.WEBAUTHN_RP_ID)
        self.assertNotIn(self.nick.email.encode(), passkeys.user_handle(self.nick))

    def test_an_answer_from_another_origin_is_refused_and_nothing_stored(self) -> None:
        self.login(self.nick)
        self.assertEqual(self.add(self.device(), origin=LOOK_ALIKE), 400)
        self.assertFalse(Passkey.objects.exists())
        refused = AuditEvent.objects.get(detail__change="passkey registration refused")
        self.assertIn("origin", refused.detail["why"].lower())

    def test_a_device_that_does_not_verify_the_user_is_refused(self) -> None:
        self.login(self.nick)
        device = self.device()
        device.verifies_user = False
        self.assertEqual(self.add(device), 400)
        self.assertFalse(Passkey.objects.exists())

    def test_a_registration_answer_cannot_be_posted_twice(self) -> None:
        self.login(self.nick)
        options = self.options("/accounts/security/passkeys/options/")
        answer = json.dumps(self.device().create(options))
        post = {"name": "Laptop", "credential": answer}
        self.assertEqual(self.client.post("/accounts/security/passkeys/", post).status_code, 302)
        response = self.client.post("/accounts/security/passkeys/", post)
        self.assertContains(response, "could not be added", status_code=400)
        self.assertEqual(Passkey.objects.count(), 1)

    def test_bad_input_is_refused_naming_the_field_and_stores_nothing(self) -> None:
        self.login(self.nick)
        for name, credential, words in (
            ("", "{}", "Give the passkey a name"),
            ("Laptop", "", "The browser sent no passkey"),
            ("Laptop", "not json", "could not be read"),
            ("Laptop", "[" * 5000 + "]" * 5000, "could not be read"),
            ("Laptop", '{"rawId": "x", "response": []}', "could not be added"),
            ("x" * 61, "{}", "Ensure this value has at most 60 characters"),
        ):
            with self.subTest(name=name[:10], credential=credential[:10]):
                self.options("/accounts/security/passkeys/options/")
                response = self.client.post(
                    "/accounts/security/passkeys/", {"name": name, "credential": credential}
                )
                self.assertContains(response, words, status_code=400)
        self.assertFalse(Passkey.objects.exists())

    def test_a_half_signed_in_session_cannot_add_a_passkey(self) -> None:
        self.password_step(self.nick)
        self.assertEqual(self.client.post("/accounts/security/passkeys/options/").status_code, 403)
        response = self.client.post(
            "/accounts/security/passkeys/", {"name": "x", "credential": "{}"}
        )
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        self.assertFalse(Passkey.objects.exists())

    def test_patients_have_no_passkeys(self) -> None:
        self.login(self.pat_user)
        self.assertEqual(self.client.post("/accounts/security/passkeys/options/").status_code, 403)
        self.assertEqual(self.client.get("/accounts/security/").status_code, 403)
        response = self.client.post(
            "/accounts/security/passkeys/", {"name": "x", "credential": "{}"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Passkey.objects.exists())

    @override_settings(WEBAUTHN_RP_ID="", WEBAUTHN_ORIGINS=[])
    def test_without_a_host_name_passkeys_are_not_offered(self) -> None:
        self.login(self.nick)
        self.assertContains(self.client.get("/accounts/security/"), "not available on this server")
        response = self.client.post("/accounts/security/passkeys/options/")
        self.assertEqual(response.status_code, 404)
        self.assertIn("not set up", response.json()["error"])


class SignInTest(PasskeyTestCase):
    def test_password_then_passkey_signs_in_and_is_recorded(self) -> None:
        device = self.enrolled(self.nick)
        self.assertEqual(self.password_step(self.nick), 302)
        page = self.client.get("/accounts/second-factor/")
        self.assertContains(page, "Sign in with a passkey")
        self.assertContains(page, "accounts/passkeys.js")
        self.assertContains(page, "Or enter a code")
        response = self.passkey_step(device)
        self.assertRedirects(response, "/patients/", fetch_redirect_response=False)
        self.assertTrue(self.fully_signed_in())
        self.assertEqual(self.client.get("/patients/").status_code, 200)
        passkey = Passkey.objects.get(user=self.nick)
        self.assertEqual(passkey.sign_count, 1)
        self.assertIsNotNone(passkey.last_used_at)
        used = AuditEvent.objects.get(action=Action.LOGIN, detail__method="passkey")
        self.assertEqual((used.user, used.detail["passkey"]), (self.nick, passkey.pk))

    def test_the_options_name_only_this_persons_passkeys_and_ask_for_verification(self) -> None:
        self.enrolled(self.paula)
        self.enrolled(self.nick)
        self.password_step(self.nick)
        options = self.options("/accounts/second-factor/passkey/options/")
        mine = Passkey.objects.get(user=self.nick).credential_id
        self.assertEqual([c["id"] for c in options["allowCredentials"]], [mine])
        self.assertEqual(options["userVerification"], "required")

    def test_an_answer_for_a_look_alike_site_is_refused_and_counted(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        response = self.passkey_step(device, origin=LOOK_ALIKE)
        self.assertContains(response, "The passkey was not accepted", status_code=400)
        self.assertFalse(self.fully_signed_in())
        self.assertEqual(self.client.get("/patients/").status_code, 302)
        self.assertEqual(self.failures(), 1)
        self.assertEqual(Passkey.objects.get().sign_count, 0)

    def test_a_challenge_serves_once(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        options = self.options("/accounts/second-factor/passkey/options/")
        answer = device.get(options)
        self.assertEqual(self.post_answer(answer).status_code, 302)
        # The same answer again, in a new half-signed-in session: no open challenge.
        self.client.logout()
        self.password_step(self.nick)
        self.assertEqual(self.post_answer(answer).status_code, 400)
        # Nor once a new challenge is open: the answer signed the old one.
        self.options("/accounts/second-factor/passkey/options/")
        self.assertEqual(self.post_answer(answer).status_code, 400)
        self.assertFalse(self.fully_signed_in())
        self.assertEqual(self.failures(), 2)

    def test_a_lapsed_challenge_is_refused(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        options = self.options("/accounts/second-factor/passkey/options/")
        session = self.client.session
        session[passkeys.CHALLENGE_KEY + passkeys.SIGN_IN]["expires"] = 0
        session.save()
        self.assertEqual(self.post_answer(device.get(options)).status_code, 400)
        self.assertFalse(self.fully_signed_in())

    def test_a_signature_counter_that_goes_back_is_refused(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        self.assertEqual(self.passkey_step(device).status_code, 302)
        self.client.logout()
        # A copy of the key (a cloned authenticator) answers with a counter already seen.
        device.sign_count = 0
        self.password_step(self.nick)
        self.assertEqual(self.passkey_step(device).status_code, 400)
        self.assertFalse(self.fully_signed_in())
        self.assertEqual(Passkey.objects.get().sign_count, 1)
        self.assertTrue(
            LoginFailure.objects.filter(step=FailureStep.SECOND_FACTOR, email=self.nick.email)
        )

    def test_another_persons_passkey_does_not_sign_in(self) -> None:
        paulas = self.enrolled(self.paula)
        self.enrolled(self.nick)
        self.password_step(self.nick)
        self.assertEqual(self.passkey_step(paulas).status_code, 400)
        self.assertFalse(self.fully_signed_in())
        self.assertEqual(self.failures(), 1)
        self.assertEqual(Passkey.objects.get(user=self.paula).sign_count, 0)

    def test_a_passkey_that_does_not_verify_the_user_is_refused(self) -> None:
        device = self.enrolled(self.nick)
        device.verifies_user = False
        self.password_step(self.nick)
        self.assertEqual(self.passkey_step(device).status_code, 400)
        self.assertFalse(self.fully_signed_in())

    def test_bad_answers_are_refused_without_error_pages(self) -> None:
        self.enrolled(self.nick)
        self.password_step(self.nick)
        for raw in (
            "",
            "null",
            "{]",
            '{"rawId": 5}',
            '{"rawId": "a", "response": "x"}',
            "x" * 20_001,
        ):
            with self.subTest(raw=raw[:12]):
                self.options("/accounts/second-factor/passkey/options/")
                self.assertEqual(self.post_answer(raw).status_code, 400)
        self.assertFalse(self.fully_signed_in())

    def test_failed_passkeys_lock_the_account_like_wrong_codes(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        for _ in range(settings.SECOND_FACTOR_FAILURE_LIMIT - 1):
            self.assertEqual(self.passkey_step(device, origin=LOOK_ALIKE).status_code, 400)
        # The last refused answer locks the account and ends the half-signed-in session.
        response = self.passkey_step(device, origin=LOOK_ALIKE)
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)
        self.assertNotIn("_auth_user_id", self.client.session)
        told = [m for m in mail.outbox if "second-factor" in m.subject]
        self.assertEqual([m.to for m in told], [["adam@example.org"]])
        # Locked: the password step is refused, and a good passkey answer too.
        self.assertEqual(self.password_step(self.nick), 400)
        self.client.force_login(self.nick)
        response = self.passkey_step(device)
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)
        self.assertFalse(self.fully_signed_in())
        self.assertEqual(Passkey.objects.get().sign_count, 0)

    def test_wrong_codes_and_refused_passkeys_add_up(self) -> None:
        device = self.enrolled(self.nick)
        self.password_step(self.nick)
        for _ in range(3):
            self.client.post("/accounts/second-factor/", {"code": "000000x"})
        self.passkey_step(device, origin=LOOK_ALIKE)
        self.assertEqual(self.failures(), 4)
        self.passkey_step(device, origin=LOOK_ALIKE)
        self.assertEqual(self.password_step(self.nick), 400)


class RemoveTest(PasskeyTestCase):
    def test_removing_a_passkey_needs_the_password(self) -> None:
        self.enrolled(self.nick)
        passkey = Passkey.objects.get()
        self.login(self.nick)
        url = f"/accounts/security/passkeys/{passkey.pk}/remove/"
        response = self.client.post(url, {"password": "not my password"})
        self.assertContains(response, "That password is not right", status_code=400)
        self.assertTrue(Passkey.objects.filter(pk=passkey.pk).exists())
        self.assertEqual(LoginFailure.objects.filter(step=FailureStep.PASSWORD).count(), 1)
        self.assertEqual(self.client.post(url, {}).status_code, 400)
        self.assertTrue(Passkey.objects.filter(pk=passkey.pk).exists())
        self.assertEqual(self.client.post(url, {"password": PASSWORD}).status_code, 302)
        self.assertFalse(Passkey.objects.exists())
        event = AuditEvent.objects.get(detail__change="passkey removed")
        self.assertEqual((event.user, event.detail["name"]), (self.nick, "Work laptop"))

    def test_nobody_removes_another_persons_passkey(self) -> None:
        self.enrolled(self.paula)
        passkey = Passkey.objects.get()
        self.login(self.nick)
        for passkey_id in (str(passkey.pk), "9" * 30):
            response = self.client.post(
                f"/accounts/security/passkeys/{passkey_id}/remove/", {"password": PASSWORD}
            )
            self.assertEqual(response.status_code, 404)
        self.assertTrue(Passkey.objects.filter(pk=passkey.pk).exists())
        self.assertFalse(AuditEvent.objects.filter(detail__change="passkey removed").exists())

    def test_a_half_signed_in_session_cannot_remove_a_passkey(self) -> None:
        self.enrolled(self.nick)
        passkey = Passkey.objects.get()
        self.password_step(self.nick)
        response = self.client.post(
            f"/accounts/security/passkeys/{passkey.pk}/remove/", {"password": PASSWORD}
        )
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        self.assertTrue(Passkey.objects.filter(pk=passkey.pk).exists())
