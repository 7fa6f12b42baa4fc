"""The demo clinic driven through headless Chromium, as staff and patients use it.

Each test signs in a different demo account: a TOTP code is accepted once per 30-second
step, so two sign-ins of one account within a step would refuse the second.
Screenshots (phone and desktop widths) and axe-core accessibility results are written to
test-artifacts/ for people to look at; serious and critical axe violations fail the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from katclinic.core.tests.browser import ARTIFACTS, CHROMIUM, demo_server, launch_chromium
from katclinic.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD

# Every browser test module marks itself with these (pytestmark = BROWSER_TESTS).
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]
pytestmark = BROWSER_TESTS

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with demo_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []
    page.on("console", lambda message: _keep_problem(console, message))
    yield page
    context.close()
    if console:
        # Kept for people to read (CSP refusals show up here); not a pass/fail signal yet.
        (ARTIFACTS / "console").mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "console" / f"{request.node.name}.txt").write_text("\n".join(console) + "\n")


def _keep_problem(store: list[str], message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        store.append(f"{message.type}: {message.text} ({message.location.get('url', '')})")


def screenshots(page: Page, name: str) -> None:
    """Full-page captures at phone and desktop widths, then back to desktop."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.screenshot(path=folder / f"{name}-{label}.png", full_page=True)


def assert_accessible(page: Page, name: str) -> None:
    """Run axe-core on the page; write its results; fail on serious or critical violations."""
    # Injected through the DevTools protocol rather than a <script> tag, which the
    # page's Content-Security-Policy (scripts from this server only) rightly refuses.
    page.evaluate(AXE.read_text())
    results: dict[str, Any] = page.evaluate("axe.run()")
    folder = ARTIFACTS / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(results, indent=1))
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in blocking
    ]
    assert not blocking, f"accessibility violations on {name}:\n" + "\n".join(summary)


def sign_in_with_password(page: Page, account: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(f"{account}@{DEMO_DOMAIN}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def demo_code(page: Page) -> str:
    return page.locator("#demo-code strong").inner_text().strip()


def enter_a_fresh_code(page: Page) -> None:
    """Enter the demo code; a code is accepted once per 30-second step, so when this account
    signed in moments ago, wait for the next step's code and enter that."""
    used = demo_code(page)
    page.get_by_label("Code").fill(used)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    for _ in range(40):
        if "/second-factor/" not in page.url:
            return
        page.wait_for_timeout(1000)
        page.goto(page.url)  # a GET of the step page: a reload would send the used code again
        if "/second-factor/" not in page.url:
            return  # the first code was accepted after all
        if demo_code(page) != used:
            page.get_by_label("Code").fill(demo_code(page))
            page.get_by_role("button", name="Continue").click()
            page.wait_for_load_state()
            return


def sign_in(page: Page, account: str) -> None:
    """Sign a demo account in: its password, then the second factor's code if it is asked."""
    sign_in_with_password(page, account)
    # Wait for the password step's answer before asking which step comes next.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/second-factor/" in page.url:
        enter_a_fresh_code(page)
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_staff_signs_in_finds_a_patient_opens_the_chart_and_signs_out(page: Page) -> None:
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshots(page, "sign-in")
    assert_accessible(page, "sign-in")

    sign_in_with_password(page, "nurse")
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/$"))
    screenshots(page, "second-factor")
    assert_accessible(page, "second-factor")
    page.get_by_label("Code").fill(demo_code(page))
    page.get_by_role("button", name="Continue").click()

    # Staff land on their home page (whatever it shows now); the list is one link away.
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    screenshots(page, "staff-home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page).to_have_url(re.compile(r"/patients/$"))
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    screenshots(page, "patient-list")
    assert_accessible(page, "patient-list")

    rows = page.locator("#patient-rows tbody tr")
    second = rows.nth(1)
    name = second.locator("td").nth(0).inner_text().strip()
    mrn = second.locator("td").nth(1).inner_text().strip()
    page.locator("#q").fill(mrn)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(mrn)

    page.get_by_role("link", name=name).click()
    last, first = (part.strip() for part in name.split(",", 1))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")
    expect(page.get_by_text(mrn).first).to_be_visible()
    screenshots(page, "chart")
    assert_accessible(page, "chart")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/patients/$"))


def test_second_factor_page_refuses_a_wrong_code_with_a_visible_error(page: Page) -> None:
    sign_in_with_password(page, "therapist")
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/$"))
    wrong = "000000" if demo_code(page) != "000000" else "111111"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/accounts/second-factor/$"))
    expect(page.get_by_text("That code is not right")).to_be_visible()
    screenshots(page, "second-factor-wrong-code")
    page.goto("/patients/")
    expect(page).not_to_have_url(re.compile(r"/patients/$"))


def test_patient_signs_in_to_the_portal(page: Page) -> None:
    sign_in_with_password(page, "patient")
    expect(page).not_to_have_url(re.compile(r"/accounts/(login|second-factor)/"))
    response = page.reload()
    assert response is not None and response.status < 500, response and response.status
    screenshots(page, "patient-home")
