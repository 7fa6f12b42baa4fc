"""Prior-authorization alerts on the Today page, with the clock frozen."""

from __future__ import annotations

from datetime import date, datetime, time
from unittest import mock
from zoneinfo import ZoneInfo

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.registry import set_setting
from katclinic.insurance import services
from katclinic.insurance.models import PriorAuthorization
from katclinic.insurance.tests import factories as f
from katclinic.testing import ClinicTestCase


class AuthorizationAlertTest(ClinicTestCase):
    def setUp(self) -> None:
        self.cover = f.coverage(self.pat, self.alice)

    def at(self, day: date) -> datetime:
        return datetime.combine(day, time(12, 0), ZoneInfo(self.clinic.timezone))

    def today_page(self, day: date, user: User | None = None) -> str:
        with mock.patch("django.utils.timezone.now", return_value=self.at(day)):
            self.login(user or self.alice)
            response = self.client.get("/today/")
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def auth(self, **changes: object) -> PriorAuthorization:
        return f.authorization(self.cover, self.alice, **changes)

    def test_an_authorization_ending_soon_is_listed_with_its_days_left(self) -> None:
        self.auth(number="PA-END", valid_from=date(2025, 9, 1), valid_to=date(2025, 12, 25))
        page = self.today_page(date(2025, 12, 15))
        self.assertIn("Prior authorizations to renew", page)
        self.assertIn("authorization ends in 10 days", page)
        self.assertIn("PA-END", page)
        # Fifteen days before, with the default of 14 days, it is not yet listed.
        self.assertNotIn("authorization ends in", self.today_page(date(2025, 12, 10)))
        # After it ended it is no longer a renewal to chase.
        self.assertNotIn("PA-END", self.today_page(date(2025, 12, 26)))

    def test_the_warning_period_is_a_clinic_setting(self) -> None:
        self.auth(valid_from=date(2025, 9, 1), valid_to=date(2025, 12, 25))
        set_setting(
            clinic=self.clinic,
            key="insurance.authorization_expiry_days",
            raw="30",
            by=self.adam,
            reason="payer takes weeks",
        )
        self.assertIn("authorization ends in 25 days", self.today_page(date(2025, 11, 30)))

    def test_units_running_low(self) -> None:
        auth = self.auth(
            number="PA-LOW",
            approved_units=10,
            valid_from=date(2025, 9, 1),
            valid_to=date(2026, 6, 30),
        )
        services.record_use(
            request=None, by=self.alice, auth=auth, used_on=date(2025, 9, 5), units=7
        )
        self.assertNotIn("approved units left", self.today_page(date(2025, 10, 1)))
        services.record_use(
            request=None, by=self.alice, auth=auth, used_on=date(2025, 9, 9), units=1
        )
        page = self.today_page(date(2025, 10, 1))
        self.assertIn("2 of 10 approved units left", page)

    def test_an_s0013_authorization_needs_a_new_one_for_j0013_sessions_in_2026(self) -> None:
        self.auth(
            number="PA-OLD",
            codes="S0013, G2083",
            valid_from=date(2025, 10, 1),
            valid_to=date(2026, 3, 31),
        )
        # 61 days before 1 January 2026: outside the default 60-day notice.
        self.assertNotIn("new authorization needed", self.today_page(date(2025, 11, 1)))
        page = self.today_page(date(2025, 12, 15))
        self.assertIn("new authorization needed for J0013", page)
        self.assertIn("names S0013; sessions from 01 Jan 2026 are billed as J0013", page)

    def test_an_authorization_naming_both_codes_or_ending_in_2025_needs_none(self) -> None:
        self.auth(codes="S0013, J0013", valid_from=date(2025, 10, 1), valid_to=date(2026, 3, 31))
        self.auth(codes="S0013", valid_from=date(2025, 6, 1), valid_to=date(2025, 12, 31))
        self.assertNotIn("new authorization needed", self.today_page(date(2025, 12, 1)))

    def test_a_healthy_authorization_raises_nothing_and_the_section_is_for_front_desk(self) -> None:
        self.auth(valid_from=date(2026, 1, 1), valid_to=date(2026, 6, 30))
        page = self.today_page(date(2026, 2, 1))
        self.assertIn("No prior authorization needs renewing.", page)
        self.assertNotIn(
            "Prior authorizations to renew", self.today_page(date(2026, 2, 1), self.nick)
        )

    def test_another_clinics_authorizations_never_appear(self) -> None:
        other = f.coverage(self.stranger, self.oscar)
        f.authorization(other, self.oscar, number="PA-SOUTH", valid_to=date(2026, 1, 10))
        self.assertNotIn("PA-SOUTH", self.today_page(date(2026, 1, 5)))

    def test_the_list_page_shows_the_same_alerts(self) -> None:
        self.auth(number="PA-END", valid_from=date(2025, 9, 1), valid_to=date(2025, 12, 25))
        with mock.patch("django.utils.timezone.now", return_value=self.at(date(2025, 12, 15))):
            self.login(self.alice)
            response = self.client.get("/insurance/authorizations/")
            self.assertEqual(timezone.localdate(), date(2025, 12, 15))
        self.assertContains(response, "authorization ends in 10 days")
