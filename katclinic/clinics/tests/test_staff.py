"""Staff administration through the pages: invitations, roles and deactivation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone

from katclinic.accounts.models import User, UserSession
from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import Invitation, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.testing import ClinicTestCase

# What the forms say about why the family name is asked for.
HELP = "Used in records sent to other systems"
PASSPHRASE = "violet lantern over quiet hills"  # noqa: S105 - a test passphrase


def send_invitation(test: ClinicTestCase, email: str, role: str) -> str:
    """adam invites `email`; the link from the email, with the test client signed out."""
    test.login(test.adam)
    response = test.client.post("/clinic/staff/invite/", {"email": email, "role": role})
    test.assertEqual(response.status_code, 302)
    link = re.search(r"/clinic/invitation/[^/\s]+/", str(mail.outbox[-1].body))
    assert link is not None
    test.client.logout()
    return link.group(0)


class InvitationTest(ClinicTestCase):
    def invite(self, email: str = "nina@clinic.example", role: str = "nurse") -> str:
        return send_invitation(self, email, role)

    def accept(self, link: str, **overrides: str) -> int:
        data = {"email": "nina@clinic.example", "full_name": "Nina Nurse", "password": PASSPHRASE}
        return self.client.post(link, {**data, **overrides}).status_code

    def test_invited_person_joins_in_the_role_and_must_enrol_a_second_factor(self) -> None:
        link = self.invite()
        self.assertFalse(Invitation.objects.filter(token_hash__in=[link.split("/")[-2]]))
        response = self.client.post(
            link,
            {"email": "Nina@Clinic.example", "full_name": "Nina Nurse", "password": PASSPHRASE},
        )
        self.assertRedirects(
            response, "/accounts/second-factor/setup/", fetch_redirect_response=False
        )
        nina = User.objects.get(email="nina@clinic.example")
        self.assertTrue(nina.check_password(PASSPHRASE))
        self.assertTrue(
            StaffMembership.objects.filter(user=nina, clinic=self.clinic, role=Role.NURSE).exists()
        )
        self.assertRedirects(
            self.client.get("/today/"), "/accounts/second-factor/", fetch_redirect_response=False
        )
        self.assertTrue(AuditEvent.objects.filter(object_id=str(nina.pk), clinic_id=self.clinic.pk))

    def test_reused_invitation_is_refused(self) -> None:
        link = self.invite()
        self.assertEqual(self.accept(link), 302)
        self.client.logout()
        self.assertEqual(self.accept(link, email="nina@clinic.example", full_name="Other"), 404)
        self.assertEqual(User.objects.filter(email="nina@clinic.example").count(), 1)

    def test_expired_invitation_is_refused(self) -> None:
        link = self.invite()
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        self.assertEqual(self.client.get(link).status_code, 404)
        self.assertEqual(self.accept(link), 404)
        self.assertFalse(User.objects.filter(email="nina@clinic.example").exists())

    def test_wrong_email_and_weak_passphrase_store_nothing(self) -> None:
        link = self.invite()
        for field, bad in (
            ("email", {"email": "else@clinic.example"}),
            ("password", {"password": "short"}),
        ):
            with self.subTest(field=field):
                response = self.client.post(
                    link,
                    {
                        "email": "nina@clinic.example",
                        "full_name": "N",
                        "password": PASSPHRASE,
                        **bad,
                    },
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
                self.assertFalse(User.objects.filter(full_name="N").exists())
                self.assertIsNone(Invitation.objects.get().accepted_at)

    def test_bad_invitation_input_names_the_field_and_stores_nothing(self) -> None:
        self.login(self.adam)
        for field, data in (
            ("email", {"email": "nope", "role": "nurse"}),
            ("role", {"email": "a@clinic.example", "role": "surgeon"}),
        ):
            with self.subTest(field=field):
                response = self.client.post("/clinic/staff/invite/", data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
        self.assertFalse(Invitation.objects.exists())
        self.assertEqual(mail.outbox, [])


class RolesAndDeactivationTest(ClinicTestCase):
    def test_staff_page_lists_people_with_last_sign_in(self) -> None:
        self.login(self.adam)
        response = self.client.get("/clinic/staff/")
        self.assertContains(response, self.nick.email)
        self.assertContains(response, "Last sign-in")

    def test_admin_changes_roles_and_it_is_audited(self) -> None:
        self.login(self.adam)
        response = self.client.post(
            f"/clinic/staff/{self.nick.pk}/roles/", {"roles": ["nurse", "therapist"]}
        )
        self.assertEqual(response.status_code, 302)
        roles = set(
            StaffMembership.objects.filter(
                user=self.nick, clinic=self.clinic, is_active=True
            ).values_list("role", flat=True)
        )
        self.assertEqual(roles, {"nurse", "therapist"})
        event = AuditEvent.objects.filter(object_id=str(self.nick.pk)).latest("id")
        self.assertEqual(event.detail["roles_after"], ["nurse", "therapist"])

    def test_bad_role_and_removing_own_admin_role_are_refused(self) -> None:
        self.login(self.adam)
        before = list(StaffMembership.objects.values_list("pk", "role", "is_active"))
        bad = self.client.post(f"/clinic/staff/{self.nick.pk}/roles/", {"roles": ["surgeon"]})
        own = self.client.post(f"/clinic/staff/{self.adam.pk}/roles/", {"roles": ["nurse"]})
        self.assertEqual((bad.status_code, own.status_code), (400, 400))
        self.assertEqual(
            list(StaffMembership.objects.values_list("pk", "role", "is_active")), before
        )

    def test_another_clinics_person_is_not_found(self) -> None:
        self.login(self.adam)
        response = self.client.post(f"/clinic/staff/{self.oscar.pk}/deactivate/")
        self.assertEqual(response.status_code, 404)
        self.assertTrue(User.objects.get(pk=self.oscar.pk).is_active)

    def test_deactivation_ends_every_session_at_once(self) -> None:
        devices = [Client(), Client()]
        for device in devices:
            self.client = device
            self.login(self.nick)
            UserSession.objects.create(user=self.nick, session_key=device.session.session_key or "")
            self.assertEqual(device.get("/today/").status_code, 200)
        admin = Client()
        self.client = admin
        self.login(self.adam)
        self.assertEqual(admin.post(f"/clinic/staff/{self.nick.pk}/deactivate/").status_code, 302)
        self.assertFalse(User.objects.get(pk=self.nick.pk).is_active)
        self.assertFalse(UserSession.objects.filter(user=self.nick).exists())
        for device in devices:
            self.assertFalse(
                Session.objects.filter(session_key=device.session.session_key or "").exists()
            )
            self.assertEqual(device.get("/today/").status_code, 302)
        self.assertTrue(
            AuditEvent.objects.filter(object_id=str(self.nick.pk), detail__sessions_ended=2)
        )

    def test_admin_cannot_deactivate_themself(self) -> None:
        self.login(self.adam)
        self.assertEqual(
            self.client.post(f"/clinic/staff/{self.adam.pk}/deactivate/").status_code, 400
        )
        self.assertTrue(User.objects.get(pk=self.adam.pk).is_active)

    def test_giving_a_deactivated_person_a_role_reactivates_them(self) -> None:
        self.login(self.adam)
        self.client.post(f"/clinic/staff/{self.nick.pk}/deactivate/")
        self.assertFalse(User.objects.get(pk=self.nick.pk).is_active)
        self.client.post(f"/clinic/staff/{self.nick.pk}/roles/", {"roles": ["nurse"]})
        self.assertTrue(User.objects.get(pk=self.nick.pk).is_active)
        self.assertTrue(
            StaffMembership.objects.active().filter(user=self.nick, clinic=self.clinic).exists()
        )


class StaffNameTest(ClinicTestCase):
    """The family name, asked for on its own where staff join and where an admin edits them."""

    def name(self, person: User, **data: str) -> Any:
        self.login(self.adam)
        return self.client.post(f"/clinic/staff/{person.pk}/name/", data)

    def test_an_admin_records_a_family_name_and_the_change_is_audited(self) -> None:
        self.login(self.adam)
        self.assertContains(self.client.get("/clinic/staff/"), HELP)
        before = AuditEvent.objects.count()
        response = self.name(self.nick, full_name="Nick Okafor, RN", family_name=" Okafor ")
        self.assertRedirects(response, "/clinic/staff/", fetch_redirect_response=False)
        self.nick.refresh_from_db()
        self.assertEqual(
            (self.nick.full_name, self.nick.family_name), ("Nick Okafor, RN", "Okafor")
        )
        event = AuditEvent.objects.latest("pk")
        self.assertEqual(AuditEvent.objects.count(), before + 1)
        self.assertEqual(event.object_id, str(self.nick.pk))
        self.assertEqual(event.detail["family_name"], {"before": "", "after": "Okafor"})

    def test_bad_names_are_refused_by_field_and_change_nothing(self) -> None:
        cases = {
            "family_name": {"full_name": "Nick Nurse", "family_name": "x" * 101},
            "full_name": {"full_name": "  ", "family_name": "Nurse"},
        }
        for field, data in cases.items():
            with self.subTest(field=field):
                before = AuditEvent.objects.filter(action="update").count()
                response = self.name(self.nick, **data)
                self.assertEqual(response.status_code, 400)
                form = next(p.name_form for p in response.context["people"] if p.user == self.nick)
                self.assertIn(field, form.errors)
                self.nick.refresh_from_db()
                self.assertEqual((self.nick.full_name, self.nick.family_name), ("Nick", ""))
                self.assertEqual(AuditEvent.objects.filter(action="update").count(), before)

    def test_another_clinics_person_is_not_found_and_keeps_their_name(self) -> None:
        response = self.name(self.oscar, full_name="Oscar Other", family_name="Other")
        self.assertEqual(response.status_code, 404)
        self.oscar.refresh_from_db()
        self.assertEqual((self.oscar.full_name, self.oscar.family_name), ("Oscar", ""))

    def test_an_invited_person_gives_their_family_name_when_joining(self) -> None:
        link = send_invitation(self, "nina@clinic.example", "nurse")
        self.assertContains(self.client.get(link), HELP)
        data = {"email": "nina@clinic.example", "full_name": "Nina Nurse", "password": PASSPHRASE}
        response = self.client.post(link, {**data, "family_name": "N" * 101})
        self.assertEqual(response.status_code, 400)
        self.assertIn("family_name", response.context["form"].errors)
        self.assertFalse(User.objects.filter(email="nina@clinic.example").exists())
        self.assertEqual(self.client.post(link, {**data, "family_name": "Nurse"}).status_code, 302)
        self.assertEqual(User.objects.get(email="nina@clinic.example").family_name, "Nurse")
