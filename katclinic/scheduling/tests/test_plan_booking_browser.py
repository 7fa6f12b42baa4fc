"""Front desk books a patient's treatment plan from the calendar, moves one visit, and the
patient's confirmation emails are sent (issue 17), in headless Chromium against the demo.

Screenshots of the proposal and the booked week go to test-artifacts/, and each page is
checked with axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_string, policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from katclinic.core.tests.browser import Install, demo_install
from katclinic.core.tests.test_browser import (  # noqa: F401 - browser is a fixture
    BROWSER_TESTS,
    DESKTOP,
    assert_accessible,
    browser,
    demo_code,
    screenshots,
    sign_in_with_password,
)

pytestmark = BROWSER_TESTS
# A demo patient whose signed plan has no visit booked yet (katclinic.demo).
PATIENT = "Samir Schmidt"


@pytest.fixture(scope="module")
def install() -> Iterator[Install]:
    with demo_install() as served:
        yield served


@pytest.fixture
def front_desk(browser: Browser, install: Install) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=install.base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_with_password(page, "frontdesk")
    page.get_by_label("Code").fill(demo_code(page))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/today/$"))
    yield page
    context.close()


def emails_to(outbox: Path, address: str) -> list[str]:
    """The bodies of the emails sent to `address`, oldest first."""
    bodies = []
    files = sorted(outbox.iterdir(), key=lambda f: f.stat().st_mtime) if outbox.exists() else []
    for file in files:
        for raw in file.read_text(errors="replace").split("-" * 79):
            if not raw.strip():
                continue
            message = message_from_string(raw.strip(), policy=policy.default)
            if address in str(message.get("To", "")):
                body = message.get_body(preferencelist=("plain",))
                bodies.append(body.get_content() if body else "")
    return bodies


def open_calendar_for_patient(page: Page) -> str:
    """From the patient's chart to the calendar in booking mode; return their email."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.locator("#q").fill(PATIENT.split()[-1])
    last, first = PATIENT.split()[-1], PATIENT.split()[0]
    page.get_by_role("link", name=f"{last}, {first}").click()
    email = page.get_by_text(re.compile(r"@example\.com")).first.inner_text()
    page.get_by_role("link", name="Appointments", exact=True).click()
    page.get_by_role("link", name="Find a time on the calendar").click()
    expect(page.locator(".cal-booking-for")).to_contain_text(f"Booking for {PATIENT}")
    return re.search(r"[\w.+-]+@example\.com", email).group(0)  # type: ignore[union-attr]


def propose_until_it_fits(page: Page) -> Locator:
    """The proposed visits; when the clinic has no room for the whole plan from the chosen
    day, propose from a week later, as the page suggests (at most three weeks on)."""
    for _ in range(3):
        refused = page.get_by_role("alert")
        if not refused.count():
            break
        screenshots(page, "plan-proposal-refused")
        start = page.get_by_label("Start on")
        later = date.fromisoformat(start.input_value()) + timedelta(weeks=1)
        start.fill(later.isoformat())
        page.get_by_role("button", name="Propose").click()
        expect(page).to_have_url(re.compile(rf"start_on={later.isoformat()}"))
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    return rows


def test_front_desk_books_the_plan_from_the_calendar_and_moves_a_visit(
    front_desk: Page, install: Install
) -> None:
    page = front_desk
    email = open_calendar_for_patient(page)
    next_week = page.get_by_role("link", name=re.compile(r"^Next week"))
    old_href = next_week.get_attribute("href") or ""
    next_week.click()
    expect(next_week).not_to_have_attribute("href", old_href)

    page.get_by_role("link", name="Book the plan’s visits from this week").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Schedule: "))).to_be_visible()
    rows = propose_until_it_fits(page)
    count = rows.count()
    assert count >= 2, count
    expect(page.locator("table tbody .badge.ok")).to_have_count(count)
    screenshots(page, "plan-proposal")
    assert_accessible(page, "plan-proposal")

    page.get_by_role("button", name=f"Book all {count}").click()
    expect(page.get_by_text(f"Booked {count} appointments.")).to_be_visible()
    entries = page.locator("a.cal-entry", has_text=PATIENT)
    expect(entries.first).to_be_visible()
    screenshots(page, "plan-booked-week")
    assert_accessible(page, "plan-booked-week")
    [booked] = [body for body in emails_to(install.outbox, email) if "booked for you" in body]
    assert booked.count("\n- ") == count, booked

    entries.first.click()
    page.get_by_role("link", name="Move to another time or place").click()
    start = page.get_by_label("New start")
    day, old_time = start.input_value()[:10], start.input_value()[11:16]
    # An hour later in the morning, an hour earlier after noon: the visit (up to a dosing
    # session's length) still fits the same day's hours, whatever day the plan lands on.
    hour = int(old_time[:2])
    new_time = f"{hour + 1 if hour < 12 else hour - 1:02d}{old_time[2:]}"
    start.fill(f"{day}T{new_time}")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text(re.compile(rf"Moved to \w+day \d+ \w+ at {new_time}"))).to_be_visible()
    moved = [body for body in emails_to(install.outbox, email) if "has moved" in body]
    assert len(moved) == 1 and f"at {new_time}" in moved[0], moved
