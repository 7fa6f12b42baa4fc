"""A staff member adds a passkey and signs in with it, in Chromium with a virtual
authenticator (DevTools protocol WebAuthn domain) standing in for the device."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from katclinic.core.tests.browser import demo_server, free_port, launch_chromium
from katclinic.core.tests.test_browser import BROWSER_TESTS, demo_code
from katclinic.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = BROWSER_TESTS


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    with demo_server(port=port):
        # Browsers allow passkeys on plain http only for localhost, never on an address.
        yield f"http://localhost:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def password(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(f"frontdesk@{DEMO_DOMAIN}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/$"))


def test_a_staff_member_adds_a_passkey_and_signs_in_with_it(page: Page) -> None:
    password(page)
    page.get_by_label("Code").fill(demo_code(page))
    page.get_by_role("button", name="Continue").click()
    page.goto("/accounts/security/")
    page.get_by_label("Name").fill("Front desk PC")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey “Front desk PC” added.")).to_be_visible()
    expect(page.get_by_role("cell", name="Front desk PC", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    password(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    page.goto("/accounts/security/")
    expect(page.get_by_role("cell", name="Not yet", exact=True)).to_have_count(0)
