"""The newer staff and patient pages checked with axe-core at phone and desktop widths, and
the nurse's session screen on a tablet held either way (issue 17).

Each page is reached the way its users reach it, by the demo account of the role that uses
it; screenshots and axe results go to test-artifacts/. Serious and critical violations fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from katclinic.core.tests.browser import ARTIFACTS
from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url and browser are fixtures
    BROWSER_TESTS,
    DESKTOP,
    PHONE,
    assert_accessible,
    base_url,
    browser,
    screenshots,
    sign_in,
)

pytestmark = BROWSER_TESTS
TABLET_PORTRAIT = {"width": 820, "height": 1180}
TABLET_LANDSCAPE = {"width": 1180, "height": 820}
TOUCH_TARGET_PX = 44  # WCAG 2.2 success criterion 2.5.5, Target Size (Enhanced)


def signed_in(browser: Browser, base_url: str, account: str) -> Page:  # noqa: F811
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, account)
    return page


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    page = signed_in(browser, base_url, "admin")
    yield page
    page.context.close()


@pytest.fixture
def nurse(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    page = signed_in(browser, base_url, "nurse")
    yield page
    page.context.close()


@pytest.fixture
def patient(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    page = signed_in(browser, base_url, "patient")
    yield page
    page.context.close()


def check(page: Page, name: str) -> None:
    """Screenshots, then axe at phone and at desktop width."""
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    screenshots(page, name)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        assert_accessible(page, f"{name}-{label}")


def visit(page: Page, path: str, name: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    check(page, name)


def follow(page: Page, href_part: str, name: str) -> None:
    """Open the first link on the page whose address contains `href_part`."""
    page.locator(f"main a[href*='{href_part}']").first.click()
    expect(page).to_have_url(re.compile(re.escape(href_part)))
    check(page, name)


def test_places_settings_staff_and_the_request_inbox(admin: Page) -> None:
    page = admin
    visit(page, "/scheduling/places/", "places")
    visit(page, "/scheduling/places/rooms/add/", "places-room")
    visit(page, "/scheduling/hours/", "opening-hours")
    visit(page, "/clinic/settings/", "settings")
    follow(page, "/clinic/settings/area/", "settings-area")
    visit(page, "/clinic/staff/", "staff")
    visit(page, "/portal/inbox/", "request-inbox")


def test_billing_and_insurance_pages(admin: Page) -> None:
    page = admin
    visit(page, "/billing/", "billing-home")
    follow(page, "/billing/charges/", "billing-charge")
    follow(page, "/billing/patients/", "billing-account")
    visit(page, "/insurance/authorizations/", "insurance-authorizations")
    follow(page, "/insurance/authorizations/", "insurance-authorization")
    follow(page, "/insurance/patients/", "insurance-coverage")
    visit(page, "/insurance/claims/", "insurance-claims")
    follow(page, "/insurance/claims/", "insurance-claim")


def test_staff_messages(nurse: Page) -> None:
    page = nurse
    visit(page, "/messaging/", "messages-inbox")
    follow(page, "/messaging/threads/", "messages-thread")


def test_patient_writes_a_message_and_books_a_visit(patient: Page) -> None:
    page = patient
    page.goto("/portal/")
    expect(page).to_have_url(re.compile(r"/portal/\d+/$"))
    patient_id = re.search(r"/portal/(\d+)/", page.url).group(1)  # type: ignore[union-attr]
    visit(page, f"/messaging/mine/{patient_id}/new/", "portal-message-compose")
    visit(page, f"/scheduling/me/{patient_id}/book/", "portal-book")


def fits_without_sideways_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def small_buttons(page: Page) -> list[str]:
    """The visible buttons of the session's forms smaller than a fingertip target."""
    small = []
    for button in page.locator("main form button:visible").all():
        box = button.bounding_box()
        if box and (box["height"] < TOUCH_TARGET_PX or box["width"] < TOUCH_TARGET_PX):
            small.append(f"{button.inner_text().strip()} ({box['width']:.0f}x{box['height']:.0f})")
    return small


def test_the_session_screen_fits_a_tablet_either_way(nurse: Page) -> None:
    page = nurse
    page.goto("/dosing/board/")
    page.locator("article.chair h2 a").first.click()
    expect(page).to_have_url(re.compile(r"/dosing/\d+/$"))
    expect(page.locator("main form button:visible").first).to_be_visible()
    folder_name = "session-screen-tablet"
    for label, size in (("portrait", TABLET_PORTRAIT), ("landscape", TABLET_LANDSCAPE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.screenshot(path=_artifact(f"{folder_name}-{label}.png"), full_page=True)
        assert fits_without_sideways_scroll(page), f"sideways scroll at {label}"
        assert not small_buttons(page), f"small buttons at {label}: {small_buttons(page)}"
        assert_accessible(page, f"{folder_name}-{label}")


def _artifact(name: str) -> str:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)
