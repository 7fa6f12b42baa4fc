"""The note form and the nurse's session screen in headless Chromium, at phone and desktop
widths, checked with axe-core (screenshots go to test-artifacts/)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url, browser, page are fixtures
    BROWSER_TESTS,
    assert_accessible,
    base_url,
    browser,
    demo_code,
    page,
    screenshots,
    sign_in_with_password,
)

pytestmark = BROWSER_TESTS


def sign_in(page: Page, account: str) -> None:  # noqa: F811 - the page fixture
    sign_in_with_password(page, account)
    page.get_by_label("Code").fill(demo_code(page))
    page.get_by_role("button", name="Continue").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_a_therapist_opens_the_note_form_for_a_visit_with_a_note_due(page: Page) -> None:  # noqa: F811
    sign_in(page, "therapist")
    page.goto("/visitnotes/")
    page.get_by_role("link", name="Write note").first.click()
    expect(page).to_have_url(re.compile(r"/visitnotes/patients/\d+/new/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshots(page, "visit-note-form")
    assert_accessible(page, "visit-note-form")


def test_a_nurse_opens_a_session_from_the_floor_board(page: Page) -> None:  # noqa: F811
    sign_in(page, "nurse")
    page.goto("/dosing/board/")
    page.locator("article.chair h2 a").first.click()
    expect(page).to_have_url(re.compile(r"/dosing/\d+/$"))
    expect(page.get_by_text("Planned dose").first).to_be_visible()
    screenshots(page, "session-screen")
    assert_accessible(page, "session-screen")
