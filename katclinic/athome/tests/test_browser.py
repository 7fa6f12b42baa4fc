"""At-home sessions in headless Chromium: the portal patient's list, and the rule that no
at-home session opens within the interval after any dose, in clinic or at home.

The demo's second portal patient holds a sublingual plan and a take-home prescription, and
also sits in the floor board's live chair, dosed in clinic an hour ago. Beginning a check-in
says when the next dose may be taken and opens no session. Every page is checked with
axe-core. Check-in, dose and post-session check-in are covered on the database in
test_whole_record.py and the session tests.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url and browser are fixtures
    BROWSER_TESTS,
    base_url,
    browser,
    sign_in_with_password,
)
from katclinic.core.tests.test_browser_flows import (  # noqa: F401 - open_page and nurse are fixtures
    Journey,
    OpenPage,
    nurse,
    open_page,
    region,
)

pytestmark = BROWSER_TESTS


def test_a_patient_dosed_in_clinic_today_cannot_open_an_at_home_session(
    open_page: OpenPage,  # noqa: F811 - the fixture imported above
) -> None:
    journey = Journey("athome")
    page = open_page()
    sign_in_with_password(page, "patient2")
    expect(page).to_have_url(re.compile(r"/portal/\d+/$"))
    card = region(page, "At-home sessions")
    expect(card).to_be_visible()
    journey.visit(page, "portal-home")
    card.get_by_role("link", name="At-home sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("At-home sessions")
    journey.visit(page, "sessions")

    # The demo gave this patient an in-clinic esketamine dose an hour ago (the live chair on
    # the floor board), so no at-home session may open: the page says when the next may.
    page.get_by_role("button", name="Begin check-in").click()
    expect(page.get_by_role("status")).to_contain_text("counting doses in clinic and at home")
    expect(page.get_by_role("heading", name="Check-in", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="I have taken the dose now")).to_have_count(0)
    journey.visit(page, "interval-not-passed")

    journey.assert_accessible()
