from django.http import HttpRequest

from katclinic.clinics.permissions import Role
from katclinic.core import worklists
from katclinic.testing import ClinicTestCase


def nurse_items(request: HttpRequest) -> list[worklists.Item]:
    return [
        worklists.Item("Check chair 2", "/x/", level="danger"),
        worklists.Item("Count stock", "/y/"),
    ]


class WorklistTest(ClinicTestCase):
    def setUp(self) -> None:
        worklists.register(
            worklists.Section("test-nurse", "Nurse things", frozenset({Role.NURSE}), nurse_items)
        )
        self.addCleanup(worklists.SECTIONS.pop, "test-nurse")

    def test_staff_land_on_their_worklist(self) -> None:
        self.login(self.nick)
        self.assertRedirects(self.client.get("/"), "/today/")

    def test_a_section_shows_only_to_its_roles_with_urgent_items_first(self) -> None:
        self.login(self.nick)
        response = self.client.get("/today/")
        titles = [
            i.title
            for e in response.context["sections"]
            if e["section"].key == "test-nurse"
            for i in e["items"]
        ]
        self.assertEqual(titles, ["Check chair 2", "Count stock"])
        self.login(self.alice)
        response = self.client.get("/today/")
        self.assertNotContains(response, "Nurse things")

    def test_htmx_refresh_returns_only_the_sections(self) -> None:
        self.login(self.nick)
        response = self.client.get("/today/", headers={"HX-Request": "true"})
        self.assertContains(response, "Nurse things")
        self.assertNotContains(response, "<html")

    def test_patients_land_on_the_portal(self) -> None:
        self.login(self.pat_user)
        self.assertEqual(self.client.get("/")["Location"], "/portal/")
