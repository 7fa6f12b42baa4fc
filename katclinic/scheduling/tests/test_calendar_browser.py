"""Front desk books and moves visits on the calendar in headless Chromium (issue 17).

Screenshots of the calendar, the booking form and the move form at phone and desktop
widths go to test-artifacts/, and every page is checked with axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url and browser are fixtures
    BROWSER_TESTS,
    DESKTOP,
    assert_accessible,
    base_url,
    browser,
    demo_code,
    screenshots,
    sign_in_with_password,
)

pytestmark = BROWSER_TESTS
THERAPIST = "Theo Grant, LCSW"


@pytest.fixture
def front_desk(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_with_password(page, "frontdesk")
    page.get_by_label("Code").fill(demo_code(page))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/today/$"))
    yield page
    context.close()


def visit(page: Page, name: str) -> None:
    screenshots(page, f"calendar-{name}")
    assert_accessible(page, f"calendar-{name}")


def book_in_room(page: Page, hour: str) -> str:
    """Book a consultation with the therapist from the 'hour' slot of Consulting room 2 on the
    week's Monday; return the patient's name."""
    page.get_by_role(
        "link", name=re.compile(rf"^Book Consulting room 2, Monday \d+ \w+ {hour}$")
    ).first.click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    patient = page.locator("#id_patient")
    patient.select_option(index=1)
    name = patient.locator("option:checked").inner_text().split(" (")[0]
    page.get_by_label("Visit type").select_option("consultation")
    page.get_by_label("Clinician").select_option(label=THERAPIST)
    visit(page, "book")
    page.get_by_role("button", name="Book").click()
    expect(
        page.get_by_text(re.compile(rf"Booked: Consultation for {re.escape(name)}"))
    ).to_be_visible()
    return name


def test_front_desk_books_a_visit_from_an_empty_slot_and_moves_it(front_desk: Page) -> None:
    page = front_desk
    page.get_by_role("link", name="Schedule", exact=True).click()
    expect(page.get_by_role("heading", name="Calendar", exact=True)).to_be_visible()
    page.get_by_role("link", name="By room").click()
    # Navigation swaps the calendar in place (htmx) and keeps the address in step.
    # Each step waits for the swapped calendar, so the next click uses its links.
    expect(page.get_by_role("link", name="By room")).to_have_attribute("aria-current", "true")
    for _ in range(2):
        next_week = page.get_by_role("link", name=re.compile(r"^Next week"))
        old_href = next_week.get_attribute("href") or ""
        next_week.click()
        expect(next_week).not_to_have_attribute("href", old_href)
    expect(page).to_have_url(re.compile(r"by=room"))
    visit(page, "week-by-room")

    name = book_in_room(page, "10:00")
    page.goto(page.url.replace("by=staff", "by=room"))
    entry = page.locator("a.cal-entry", has_text=name).filter(has_text="10:00")
    expect(entry.first).to_be_visible()
    visit(page, "week-booked")

    # A second visit at 11:00 in the same room: moving the first onto it is refused, with why.
    book_in_room(page, "11:00")
    page.goto(page.url.replace("by=staff", "by=room"))
    page.locator("a.cal-entry", has_text=name).filter(has_text="10:00").first.click()
    page.get_by_role("link", name="Move to another time or place").click()
    start = page.get_by_label("New start")
    day = start.input_value()[:10]
    start.fill(f"{day}T11:00")
    page.get_by_role("button", name="Move").click()
    expect(page.locator(".errorlist[role=alert]")).to_contain_text(
        "Consulting room 2 is taken then"
    )
    visit(page, "move-refused")

    page.get_by_label("New start").fill(f"{day}T14:00")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text(re.compile(r"Moved to \w+day \d+ \w+ at 14:00"))).to_be_visible()
    visit(page, "moved")
