"""Resetting a lost authenticator: one administrator asks, a different one confirms."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pyotp
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from katclinic.accounts.models import RecoveryCode, TotpDevice, User, UserSession
from katclinic.audit.models import Action, AuditEvent, Outcome
from katclinic.clinics.models import OrganizationAdmin, SecondFactorReset, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import set_setting
from katclinic.testing import PASSWORD, ClinicTestCase, make_user


class SecondFactorResetTest(ClinicTestCase):
    beth: User

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.beth = make_user("beth@example.org", "Beth")
        StaffMembership.objects.create(user=cls.beth, clinic=cls.clinic, role=Role.ADMIN)

    def setUp(self) -> None:
        TotpDevice.objects.create(
            user=self.nick, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=self.nick, code_hash=make_password(f"code{i}")) for i in range(3)
        )

    def ask(self, reason: str = "Lost phone on the bus") -> int:
        self.login(self.adam)
        return self.client.post(
            f"/clinic/staff/{self.nick.pk}/second-factor/", {"reason": reason}
        ).status_code

    def security_events(self, change: str) -> list[AuditEvent]:
        return list(
            AuditEvent.objects.filter(
                action=Action.SECURITY, object_id=str(self.nick.pk), detail__change=change
            )
        )

    def test_a_second_admin_confirms_and_the_person_enrols_again(self) -> None:
        self.assertEqual(self.ask(), 302)
        reset = SecondFactorReset.objects.get(user=self.nick)
        self.assertEqual(reset.requested_by, self.adam)
        self.assertTrue(TotpDevice.objects.filter(user=self.nick).exists())
        self.assertEqual(len(self.security_events("second factor reset requested")), 1)
        # nick is signed in on another device; the reset ends that session.
        nick = Client()
        nick.post("/accounts/login/", {"email": self.nick.email, "password": PASSWORD})
        nick_key = nick.session.session_key
        self.assertTrue(UserSession.objects.filter(user=self.nick, session_key=nick_key))
        self.login(self.beth)
        page = self.client.get("/clinic/staff/second-factor/")
        self.assertContains(page, "Lost phone on the bus")
        self.assertContains(page, "Confirm reset")
        response = self.client.post(f"/clinic/staff/second-factor/{reset.pk}/confirm/")
        self.assertEqual(response.status_code, 302)
        reset.refresh_from_db()
        self.assertEqual(reset.confirmed_by, self.beth)
        self.assertFalse(TotpDevice.objects.filter(user=self.nick).exists())
        self.assertFalse(RecoveryCode.objects.filter(user=self.nick).exists())
        self.assertFalse(UserSession.objects.filter(user=self.nick).exists())
        self.assertFalse(Session.objects.filter(session_key=nick_key).exists())
        removed = self.security_events("second factor removed")
        self.assertEqual(len(removed), 1)
        self.assertEqual(removed[0].user, self.beth)
        self.assertEqual(removed[0].detail["requested_by"], self.adam.pk)
        # At the next sign-in nick is sent to enrol a new authenticator.
        fresh = Client()
        fresh.post("/accounts/login/", {"email": self.nick.email, "password": PASSWORD})
        self.assertRedirects(
            fresh.get("/accounts/second-factor/"),
            "/accounts/second-factor/setup/",
            fetch_redirect_response=False,
        )

    def test_the_asking_admin_cannot_confirm_their_own_request(self) -> None:
        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        response = self.client.post(f"/clinic/staff/second-factor/{reset.pk}/confirm/")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "A different administrator must confirm", status_code=400)
        reset.refresh_from_db()
        self.assertIsNone(reset.confirmed_at)
        self.assertTrue(TotpDevice.objects.filter(user=self.nick).exists())
        self.assertEqual(RecoveryCode.objects.filter(user=self.nick).count(), 3)
        refused = self.security_events("second factor reset refused")
        self.assertEqual(len(refused), 1)
        self.assertEqual(refused[0].outcome, Outcome.DENIED)

    def test_an_expired_request_is_refused(self) -> None:
        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        SecondFactorReset.objects.filter(pk=reset.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        self.login(self.beth)
        response = self.client.post(f"/clinic/staff/second-factor/{reset.pk}/confirm/")
        self.assertContains(response, "expired", status_code=400)
        self.assertTrue(TotpDevice.objects.filter(user=self.nick).exists())
        self.assertNotContains(self.client.get("/clinic/staff/second-factor/"), "Lost phone")

    def test_the_confirmation_window_is_a_clinic_setting(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="security.second_factor_reset_hours",
            raw="2",
            by=self.adam,
            reason="Shorter window",
        )
        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        self.assertAlmostEqual(
            (reset.expires_at - reset.requested_at).total_seconds(), 7200, delta=5
        )

    def test_a_request_needs_a_reason_and_a_person_of_this_clinic(self) -> None:
        self.assertEqual(self.ask(reason="   "), 400)
        self.assertEqual(self.ask(reason="x" * 1001), 400)
        self.assertEqual(self.ask(reason="lost\x00"), 400)
        self.login(self.adam)
        response = self.client.post(
            f"/clinic/staff/{self.oscar.pk}/second-factor/", {"reason": "lost"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(SecondFactorReset.objects.exists())

    def test_a_second_request_for_the_same_person_waits_for_the_first(self) -> None:
        self.assertEqual(self.ask(), 302)
        self.assertEqual(self.ask(), 400)
        self.assertEqual(SecondFactorReset.objects.count(), 1)

    def test_a_cancelled_request_cannot_be_confirmed(self) -> None:
        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        self.assertEqual(
            self.client.post(f"/clinic/staff/second-factor/{reset.pk}/cancel/").status_code, 302
        )
        self.assertEqual(len(self.security_events("second factor reset cancelled")), 1)
        self.login(self.beth)
        response = self.client.post(f"/clinic/staff/second-factor/{reset.pk}/confirm/")
        self.assertEqual(response.status_code, 400)
        self.assertTrue(TotpDevice.objects.filter(user=self.nick).exists())

    def test_another_clinics_admin_cannot_confirm(self) -> None:
        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        south_admin = make_user("sally@example.org", "Sally")
        StaffMembership.objects.create(user=south_admin, clinic=self.other_clinic, role=Role.ADMIN)
        self.login(south_admin)
        response = self.client.post(f"/clinic/staff/second-factor/{reset.pk}/confirm/")
        self.assertEqual(response.status_code, 404)
        self.assertTrue(TotpDevice.objects.filter(user=self.nick).exists())

    def test_non_admins_cannot_ask_or_confirm(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            f"/clinic/staff/{self.nick.pk}/second-factor/", {"reason": "lost"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(SecondFactorReset.objects.exists())

    def test_an_organization_admin_may_confirm_without_being_a_clinic_admin(self) -> None:
        from katclinic.clinics.second_factor import confirm_reset

        self.ask()
        reset = SecondFactorReset.objects.get(user=self.nick)
        olive = make_user("olive@example.org", "Olive")
        OrganizationAdmin.objects.create(organization=self.org, user=olive)
        confirm_reset(request=None, reset_id=reset.pk, clinic=self.clinic, by=olive)
        self.assertFalse(TotpDevice.objects.filter(user=self.nick).exists())


class SingleAdminTest(ClinicTestCase):
    def test_the_page_names_the_organization_path_when_there_is_one_admin(self) -> None:
        self.login(self.adam)
        for path in (
            "/clinic/staff/second-factor/",
            f"/clinic/staff/{self.nick.pk}/second-factor/",
        ):
            response = self.client.get(path)
            self.assertContains(response, "only one administrator")
            self.assertContains(response, "manage.py reset_second_factor")
            self.assertContains(response, "administrator of the organization")

    def test_the_command_resets_at_once_with_a_reason_and_is_audited(self) -> None:
        TotpDevice.objects.create(
            user=self.adam, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        out = StringIO()
        call_command(
            "reset_second_factor",
            email="ADAM@example.org",
            reason="Sole admin lost phone",
            stdout=out,
        )
        self.assertIn("adam@example.org", out.getvalue())
        self.assertFalse(TotpDevice.objects.filter(user=self.adam).exists())
        event = AuditEvent.objects.get(detail__change="second factor removed")
        self.assertEqual(event.clinic_id, self.clinic.pk)
        self.assertEqual(event.detail["reason"], "Sole admin lost phone")
        self.assertEqual(event.detail["by"], "server command")

    def test_the_command_refuses_bad_input_and_changes_nothing(self) -> None:
        TotpDevice.objects.create(
            user=self.adam, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        with self.assertRaisesMessage(CommandError, "No account"):
            call_command("reset_second_factor", email="nobody@example.org", reason="x")
        with self.assertRaisesMessage(CommandError, "reason"):
            call_command("reset_second_factor", email="adam@example.org", reason="  ")
        self.assertTrue(TotpDevice.objects.filter(user=self.adam).exists())
        self.assertFalse(AuditEvent.objects.filter(detail__change="second factor removed"))
        self.assertTrue(User.objects.get(pk=self.adam.pk).is_active)


class ResetIdTest(ClinicTestCase):
    def test_an_unknown_or_huge_reset_id_is_not_found(self) -> None:
        self.login(self.adam)
        for reset_id in ("999999", "9" * 30):
            for step in ("confirm", "cancel"):
                response = self.client.post(f"/clinic/staff/second-factor/{reset_id}/{step}/")
                self.assertEqual(response.status_code, 404)
        self.assertFalse(SecondFactorReset.objects.exists())
        self.assertFalse(
            AuditEvent.objects.filter(object_type="clinics.secondfactorreset").exists()
        )
