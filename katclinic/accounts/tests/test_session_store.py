"""The plain-SQL session read and user load behave as Django's own."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone

from katclinic.accounts.backends import EmailBackend
from katclinic.accounts.session_store import SessionStore
from katclinic.clinics.middleware import clinic_roles
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.testing import ClinicTestCase


class SessionStoreTest(ClinicTestCase):
    def test_a_saved_session_loads_back(self) -> None:
        store = SessionStore()
        store["answer"] = 42
        store.save()
        self.assertEqual(SessionStore(session_key=store.session_key).load(), {"answer": 42})

    def test_an_expired_or_unknown_session_loads_empty_and_gets_a_new_key(self) -> None:
        store = SessionStore()
        store["answer"] = 42
        store.save()
        Session.objects.filter(session_key=store.session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        for key in (store.session_key, "z" * 32, "bad key!"):
            with self.subTest(key=key):
                again = SessionStore(session_key=key)
                self.assertEqual(again.load(), {})
                self.assertIsNone(again._session_key)

    def test_a_signed_in_page_still_needs_a_live_session(self) -> None:
        self.login(self.nick)
        self.assertContains(self.client.get("/patients/"), self.pat.last_name)
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
        response = self.client.get("/patients/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertNotContains(response, self.pat.last_name, status_code=302)


class UserLoadTest(ClinicTestCase):
    def test_the_user_loads_as_the_orm_would(self) -> None:
        found = EmailBackend().get_user(self.nick.pk)
        assert found is not None
        self.assertEqual(found.pk, self.nick.pk)
        self.assertEqual(
            (found.email, found.kind, found.password),
            (self.nick.email, self.nick.kind, self.nick.password),
        )

    def test_an_inactive_or_missing_user_is_nobody(self) -> None:
        type(self.nick).objects.filter(pk=self.nick.pk).update(is_active=False)
        for user_id in (self.nick.pk, 10**9, "x", None):
            with self.subTest(user_id=user_id):
                self.assertIsNone(EmailBackend().get_user(user_id))


class ClinicRolesTest(ClinicTestCase):
    def test_roles_by_clinic_are_the_active_memberships(self) -> None:
        StaffMembership.objects.create(user=self.nick, clinic=self.clinic, role=Role.THERAPIST)
        StaffMembership.objects.create(
            user=self.nick, clinic=self.other_clinic, role=Role.ADMIN, is_active=False
        )
        found = clinic_roles(self.nick)
        self.assertEqual(list(found), [self.clinic.pk])
        clinic, roles = found[self.clinic.pk]
        self.assertEqual(clinic.name, self.clinic.name)
        expected = StaffMembership.objects.active().filter(user=self.nick, clinic=self.clinic)
        self.assertEqual(roles, {m.role for m in expected})
        type(self.nick).objects.filter(pk=self.nick.pk).update(is_active=False)
        self.nick.refresh_from_db()
        self.assertEqual(clinic_roles(self.nick), {})
