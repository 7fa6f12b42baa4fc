"""The floor board never shows a sign-in page inside itself: once its session is gone the
polled fragment answers the "not monitoring" banner and tells htmx to stop polling."""

from datetime import timedelta
from typing import Any
from unittest import mock

from django.urls import reverse
from django.utils import timezone

from katclinic.testing import ClinicTestCase

POLL = {
    "X-Background-Refresh": "1",
    "HX-Request": "true",
    "HX-Current-URL": "http://t/dosing/board/",
}


class BoardSignedOutTest(ClinicTestCase):
    def poll(self) -> Any:
        return self.client.get(reverse("dosing:board_rows"), headers=POLL)

    def assert_not_monitoring(self, response: Any) -> None:
        self.assertEqual(response.status_code, 286)
        self.assertContains(response, "NOT MONITORING", status_code=286)
        self.assertContains(response, "/accounts/login/?next=%2Fdosing%2Fboard%2F", status_code=286)
        for login_page in ("<form", "password", "<html"):
            self.assertNotContains(response, login_page, status_code=286)

    def test_a_signed_in_poll_shows_the_chairs(self) -> None:
        self.login(self.nick)
        response = self.poll()
        self.assertContains(response, "No one is in a chair.")
        self.assertNotContains(response, "NOT MONITORING")

    def test_after_the_idle_timeout_the_poll_answers_not_monitoring(self) -> None:
        self.login(self.nick)
        later = timezone.now() + timedelta(minutes=16)
        with mock.patch("django.utils.timezone.now", return_value=later):
            response = self.poll()
        self.assert_not_monitoring(response)
        self.assertContains(response, "after 15 minutes without activity", status_code=286)
        # the session really ended: the next poll is refused in the same way
        self.assert_not_monitoring(self.poll())

    def test_after_sign_out_the_poll_answers_not_monitoring(self) -> None:
        self.login(self.nick)
        self.client.post("/accounts/logout/")
        self.assert_not_monitoring(self.poll())

    def test_the_alert_banner_poll_is_answered_the_same_way(self) -> None:
        response = self.client.get(reverse("measures:alert_banner"), headers=POLL)
        self.assert_not_monitoring(response)

    def test_a_person_opening_the_board_signed_out_still_gets_the_sign_in_page(self) -> None:
        response = self.client.get(reverse("dosing:board"))
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_the_board_page_carries_its_stale_watchdog(self) -> None:
        self.login(self.nick)
        response = self.client.get(reverse("dosing:board"))
        self.assertContains(response, 'id="board-stale"')
        self.assertContains(response, "dosing/board.js")
        self.assertContains(response, reverse("dosing:display_links"))
