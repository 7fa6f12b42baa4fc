"""Small things every page relies on: the icon, and the clinic's error pages with DEBUG on."""

from django.test import override_settings

from katclinic.testing import ClinicTestCase


class FaviconTest(ClinicTestCase):
    def test_favicon_ico_points_at_the_clinic_icon(self) -> None:
        response = self.client.get("/favicon.ico")
        self.assertEqual(response.status_code, 301)
        self.assertTrue(response["Location"].endswith("favicon.svg"))

    def test_every_page_names_its_icon_so_browsers_do_not_guess(self) -> None:
        self.login(self.nick)
        page = self.client.get("/today/").content.decode()
        self.assertIn('rel="icon"', page)


class ErrorPagesWithDebugTest(ClinicTestCase):
    @override_settings(DEBUG=True, KATCLINIC_TECHNICAL_ERRORS=False)
    def test_an_unknown_address_shows_the_clinic_page_not_django_internals(self) -> None:
        self.login(self.nick)
        response = self.client.get("/no-such-page/at-all/")
        self.assertEqual(response.status_code, 404)
        body = response.content.decode()
        self.assertIn("Page not found", body)
        self.assertNotIn("DEBUG = True", body)
        self.assertNotIn("URLconf", body)

    @override_settings(DEBUG=True, KATCLINIC_TECHNICAL_ERRORS=False)
    def test_a_missing_record_shows_the_clinic_page(self) -> None:
        self.login(self.nick)
        response = self.client.get("/patients/999999999/")
        self.assertEqual(response.status_code, 404)
        self.assertIn("Page not found", response.content.decode())
        self.assertNotIn("DEBUG = True", response.content.decode())

    @override_settings(DEBUG=True, KATCLINIC_TECHNICAL_ERRORS=True)
    def test_developers_can_ask_for_the_technical_page(self) -> None:
        self.login(self.nick)
        response = self.client.get("/no-such-page/at-all/")
        self.assertEqual(response.status_code, 404)
        self.assertIn("DEBUG = True", response.content.decode())
