"""An administrator's first hour on an empty install, in headless Chromium.

The server is migrated but holds nothing (no demo): the operator opens the first-run page and
creates the clinic and its administrator, who enrols an authenticator, invites a prescriber
and a nurse (each invitation arrives as an email file), adds a room with two chairs and
opening hours, adopts the esketamine and IV protocols and publishes a consent document. Both
join; the nurse registers a patient and books an IV session: the intranasal-only chair is
refused by name, the IV chair is booked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from katclinic.core.tests.browser import EmptyInstall, empty_server
from katclinic.core.tests.test_browser import (  # noqa: F401 - browser is a fixture
    BROWSER_TESTS,
    DESKTOP,
    browser,
    screenshots,
)
from katclinic.core.tests.test_first_hour import ADMIN_EMAIL, PASSPHRASE, ZONE, next_weekday_at

pytestmark = BROWSER_TESTS

NURSE_EMAIL = "nick.ode@lakeside.example"
PRESCRIBER_EMAIL = "paula.ng@lakeside.example"
INVITATION = re.compile(r"/clinic/invitation/[A-Za-z0-9_-]+/")
PROTOCOLS = {
    "esketamine_trd": "Intranasal esketamine",
    "iv_ketamine_elektd": "IV racemic ketamine",
}


@pytest.fixture(scope="module")
def install() -> Iterator[EmptyInstall]:
    with empty_server() as served:
        yield served


def new_page(browser: Browser, install: EmptyInstall) -> Page:  # noqa: F811
    context = browser.new_context(base_url=install.base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def invitation_links(outbox: Path) -> set[str]:
    """Every invitation path in the emails written so far (soft line breaks undone)."""
    if not outbox.exists():
        return set()
    text = "".join(f.read_text(errors="replace") for f in outbox.iterdir())
    return set(INVITATION.findall(text.replace("=\n", "")))


def enrol_authenticator(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/setup/$"))
    secret = page.locator("p", has_text="type this key").locator("code").inner_text().strip()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def set_up(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="This clinic is not set up yet")).to_be_visible()
    page.get_by_role("link", name="Open the setup page").click()
    screenshots(page, "first-hour-setup")
    page.get_by_label("Organization name").fill("Lakeside Health")
    page.get_by_label("Clinic name").fill("Lakeside Ketamine Clinic")
    page.get_by_label("Time zone").fill(ZONE)
    page.get_by_label("Administrator email").fill(ADMIN_EMAIL)
    page.get_by_label("Administrator full name").fill("Rita Root")
    page.get_by_label("Administrator passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Create the clinic").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/setup/")
    expect(page.get_by_role("heading", name="This clinic is already set up")).to_be_visible()


def sign_in_admin(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSPHRASE)
    page.get_by_role("button", name="Sign in").click()
    enrol_authenticator(page)


def invite(page: Page, install: EmptyInstall, email: str, role: str) -> str:
    before = invitation_links(install.outbox)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.locator("#id_email").fill(email)
    page.locator("#id_role").select_option(role)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {email}.")).to_be_visible()
    [link] = invitation_links(install.outbox) - before
    return link


def add_places(page: Page) -> None:
    page.goto("/scheduling/places/rooms/add/")
    page.locator("#id_name").fill("Garden room")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Room saved.")).to_be_visible()
    for name, supports in (
        ("Window chair", ("#id_supports_iv", "#id_supports_intranasal")),
        ("Corner chair", ("#id_supports_intranasal",)),
    ):
        page.goto("/scheduling/places/chairs/add/")
        page.locator("#id_room").select_option(label="Garden room")
        page.locator("#id_name").fill(name)
        for box in supports:
            page.locator(box).check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Chair saved.")).to_be_visible()
    expect(page.get_by_text("Corner chair")).to_be_visible()
    screenshots(page, "first-hour-places")
    page.goto("/scheduling/hours/")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.locator(f"#id_{day}_opens").fill("08:00")
        page.locator(f"#id_{day}_closes").fill("18:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Opening hours saved.")).to_be_visible()


def adopt_protocols(page: Page) -> None:
    for key, title in PROTOCOLS.items():
        page.goto("/protocols/adopt/")
        form = page.locator(f'form[action="/protocols/adopt/{key}/"]')
        form.get_by_role("button", name="Adopt").click()
        adopted = re.compile(rf"Adopted {re.escape(title)}.* as version 1 \(active\)")
        expect(page.get_by_text(adopted)).to_be_visible()


def publish_consent(page: Page) -> None:
    page.goto("/intake/consents/documents/")
    page.locator("#id_scope").select_option("program")
    page.locator("#id_title").fill("Consent to ketamine-assisted treatment")
    page.locator("#id_body").fill("What the treatment is, its risks, and your right to stop.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("your right to stop")).to_be_visible()
    screenshots(page, "first-hour-consent-preview")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text(re.compile(r"Published .*Consent to ketamine"))).to_be_visible()


def join(page: Page, link: str, name: str) -> None:
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Lakeside Ketamine Clinic")).to_be_visible()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Create my account").click()
    enrol_authenticator(page)


def nurse_books_iv_session(page: Page) -> None:
    page.goto("/patients/new/")
    page.locator("#id_first_name").fill("Morgan")
    page.locator("#id_last_name").fill("Vale")
    page.locator("#id_date_of_birth").fill("1985-04-12")
    page.locator("#id_email").fill("morgan.vale@mail.example")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    patient_id = re.search(r"/patients/(\d+)/$", page.url).group(1)  # type: ignore[union-attr]
    # The new patient is found from the patient list, as the nurse would next time.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    page.locator("#q").fill("Vale")
    expect(page.get_by_role("link", name="Vale, Morgan")).to_be_visible()

    def fill_booking(chair: str) -> None:
        page.goto(f"/scheduling/patients/{patient_id}/")
        page.locator("#id_start").fill(next_weekday_at(10).strftime("%Y-%m-%dT%H:%M"))
        page.locator("#id_staff").select_option(label="Nick Ode")
        page.locator("#id_room").select_option(label="Garden room")
        page.locator("#id_chair").select_option(label=f"Garden room / {chair}")
        page.locator("#id_kind").select_option("dosing")
        page.locator("#id_route").select_option("iv")
        page.get_by_role("button", name="Book").click()

    fill_booking("Corner chair")
    refusal = page.locator(".errorlist", has_text="Corner chair")
    expect(refusal.first).to_be_visible()
    expect(page.get_by_text("Not booked").first).to_be_visible()
    screenshots(page, "first-hour-refused-chair")
    fill_booking("Window chair")
    expect(page.get_by_text("Booked.")).to_be_visible()
    expect(page.get_by_role("cell", name="Dosing session")).to_be_visible()


def test_an_administrators_first_hour_in_the_browser(
    browser: Browser,  # noqa: F811
    install: EmptyInstall,
) -> None:
    admin = new_page(browser, install)
    set_up(admin)
    sign_in_admin(admin)
    prescriber_link = invite(admin, install, PRESCRIBER_EMAIL, "prescriber")
    nurse_link = invite(admin, install, NURSE_EMAIL, "nurse")
    add_places(admin)
    adopt_protocols(admin)
    publish_consent(admin)
    join(new_page(browser, install), prescriber_link, "Paula Ng")
    nurse = new_page(browser, install)
    join(nurse, nurse_link, "Nick Ode")
    nurse_books_iv_session(nurse)
    # Both people now appear on the staff page with their roles.
    admin.goto("/clinic/staff/")
    expect(admin.get_by_text("Paula Ng")).to_be_visible()
    expect(admin.get_by_text("Nick Ode")).to_be_visible()
