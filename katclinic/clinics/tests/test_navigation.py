"""The main navigation, built once per set of roles, still follows each user's roles."""

from django.urls import reverse

from katclinic.accounts.models import User
from katclinic.testing import ClinicTestCase


class NavigationTest(ClinicTestCase):
    def nav_of(self, user: User) -> str:
        self.login(user)
        html = self.client.get(reverse("core:worklist")).content.decode()
        return html[html.index('<nav aria-label="Main">') : html.index("</nav>")]

    def test_each_role_keeps_its_own_links_in_one_process(self) -> None:
        admin = self.nav_of(self.adam)
        front_desk = self.nav_of(self.alice)
        admin_again = self.nav_of(self.adam)
        self.assertIn(f'<a href="{reverse("audit:list")}">Audit trail</a>', admin)
        self.assertIn(f'<a href="{reverse("clinics:staff")}">Staff</a>', admin)
        self.assertNotIn("Audit trail", front_desk)
        self.assertNotIn(reverse("clinics:staff"), front_desk)
        self.assertIn(f'<a href="{reverse("patients:list")}">Patients</a>', front_desk)
        self.assertEqual(admin, admin_again)

    def test_the_chart_tabs_carry_the_patients_own_id(self) -> None:
        self.login(self.nick)
        for patient in (self.pat, self.quinn):
            html = self.client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
            self.assertIn(f'href="{reverse("dosing:patient_sessions", args=[patient.pk])}"', html)
            self.assertNotIn("987654321", html)
