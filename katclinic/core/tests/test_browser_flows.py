"""Whole journeys through the demo clinic in headless Chromium (issues 6 and 8).

A nurse's morning: the worklist, today's session in the chair, a recheck, the floor board.
A nurse runs a fresh esketamine session from check-in to the refused discharge (the REMS
minimum of 120 minutes of observation cannot pass inside a test, and the refusal with its
reason is the behaviour that matters). A patient answers a questionnaire their therapist
sent, reads what to do before the next visit and writes in the journal.

Every page visited is captured at phone and desktop widths and checked with axe-core; the
accessibility problems of a whole journey are collected and reported together at its end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from katclinic.core.tests.browser import ARTIFACTS
from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url and browser are fixtures
    BROWSER_TESTS,
    DESKTOP,
    _keep_problem,
    assert_accessible,
    base_url,
    browser,
    screenshots,
    sign_in,
    sign_in_with_password,
)

pytestmark = BROWSER_TESTS

OpenPage = Callable[..., Page]
# Long enough before now to meet any fasting rule, in the server's time zone or the clinic's.
LAST_MEAL_HOURS_AGO = 20


class Journey:
    """Screenshots and axe results of each page a test visits; problems are kept, not raised,
    so one bad page does not hide the rest of the journey."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.problems: list[str] = []

    def visit(self, page: Page, name: str) -> None:
        full = f"{self.prefix}-{name}"
        screenshots(page, full)
        try:
            assert_accessible(page, full)
        except AssertionError as exc:
            # Keep the readable summary, not pytest's repr of the whole violation list.
            self.problems.append(str(exc).split("\nassert ", 1)[0])

    def assert_accessible(self) -> None:
        assert not self.problems, "\n\n".join(self.problems)


@pytest.fixture
def open_page(
    browser: Browser,  # noqa: F811 - the fixture imported above
    base_url: str,  # noqa: F811
    request: pytest.FixtureRequest,
) -> Iterator[OpenPage]:
    """Open a page in a new browser context (one per person), optionally already signed in."""
    contexts = []
    console: list[str] = []

    def opener(storage_state: Any = None) -> Page:
        context = browser.new_context(
            base_url=base_url,
            viewport=DESKTOP,  # type: ignore[arg-type]
            storage_state=storage_state,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda message: _keep_problem(console, message))
        return page

    yield opener
    for context in contexts:
        context.close()
    if console:
        (ARTIFACTS / "console").mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "console" / f"{request.node.name}.txt").write_text("\n".join(console) + "\n")


@pytest.fixture(scope="module")
def nurse(browser: Browser, base_url: str) -> Any:  # noqa: F811
    """The demo nurse's signed-in browser state: one TOTP sign-in serves every nurse test."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, "nurse")
    expect(page).to_have_url(re.compile(r"/today/$"))
    state = context.storage_state()
    context.close()
    return state


def region(page: Page, name: str | re.Pattern[str]) -> Locator:
    """A card found by its heading (cards are sections labelled by their heading)."""
    return page.get_by_role("region", name=name, exact=isinstance(name, str))


def record_reading(page: Page, label: str | None, **values: str) -> None:
    form = region(page, "Record a reading")
    if label is not None:
        form.get_by_label("Label").select_option(label)
    for field, value in values.items():
        form.get_by_label(field, exact=False).fill(value)
    form.get_by_role("button", name="Record reading").click()


def test_a_nurse_starts_the_day_at_the_worklist_rechecks_a_chair_and_reads_the_floor(
    open_page: OpenPage, nurse: Any
) -> None:
    journey = Journey("nurse-morning")
    page = open_page(nurse)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/today/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Today at "))
    journey.visit(page, "worklist")

    today = region(page, re.compile(r"^Dosing sessions today"))
    link = today.get_by_role("link").first
    name = link.inner_text().rsplit("·", 1)[1].strip()
    link.click()
    expect(page).to_have_url(re.compile(r"/dosing/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", level=2)).to_contain_text("Monitoring")
    monitoring = region(page, "Monitoring")
    expect(monitoring.get_by_role("alert")).to_contain_text("Recheck systolic due")
    expect(monitoring).to_contain_text("Recheck systolic 165 (limit 160)")
    journey.visit(page, "session-recheck-due")

    # The form is already set up as the recheck of the open alert.
    expect(region(page, "Record a reading").get_by_label("Label")).to_have_value("recheck")
    record_reading(page, None, Systolic="148", Diastolic="90")
    expect(monitoring.get_by_role("alert")).to_have_count(0)
    expect(monitoring.get_by_role("row").filter(has_text="148/90")).to_contain_text("recheck")
    alerts = region(page, "In-session alerts")
    alerts.get_by_label("What was done").fill("Rechecked after 5 minutes: 148/90, feeling fine.")
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(alerts).to_contain_text("acknowledged by Nina Okafor, RN")
    journey.visit(page, "session-rechecked")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Floor").click()
    expect(page).to_have_url(re.compile(r"/dosing/board/$"))
    initials = "".join(part[0] for part in name.split())
    chair = page.get_by_role("article", name=re.compile(rf"· {initials}$"))
    expect(chair).to_contain_text("Monitoring")
    expect(chair).not_to_contain_text("alert")
    expect(page.locator("main")).not_to_contain_text(name)
    for part in name.split():
        expect(page.locator("#floor-board")).not_to_contain_text(part)
    journey.visit(page, "floor-board")
    journey.assert_accessible()


def book_a_session(page: Page, journey: Journey) -> str:
    """From the worklist to a new session for the patient whose REMS form is due: that
    patient is on an esketamine plan and enrolled in the REMS, which the gate requires."""
    page.goto("/today/")
    due = region(page, re.compile(r"^REMS forms due")).get_by_role("link").first
    name = due.inner_text().split(":")[0].strip()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.locator("#q").fill(name.split()[-1])
    first, last = name.split(maxsplit=1)
    journey.visit(page, "patient-list")
    page.get_by_role("link", name=f"{last}, {first}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    journey.visit(page, "chart")
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Sessions"
    ).click()
    expect(page.get_by_role("heading", name="Dosing sessions")).to_be_visible()
    journey.visit(page, "sessions-tab")
    page.get_by_role("link", name="Book a dosing session").click()
    journey.visit(page, "book")
    page.get_by_label("Plan").select_option(index=1)
    page.get_by_label("Chair").fill("Chair 1")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/dosing/\d+/$"))
    expect(page.get_by_role("heading", level=2)).to_contain_text("Scheduled")
    return name


def pre_dose_checks(page: Page, *, with_fasting_times: bool) -> None:
    form = region(page, "Pre-dose checks")
    for field, value in (
        ("Systolic", "128"),
        ("Diastolic", "80"),
        ("Heart rate", "72"),
        ("SpO2 (%)", "98"),
    ):
        form.get_by_label(field).fill(value)
    if with_fasting_times:
        meal = datetime.now() - timedelta(hours=LAST_MEAL_HOURS_AGO)  # noqa: DTZ005 - a form's wall-clock value
        form.get_by_label("Last food").fill(f"{meal:%Y-%m-%dT%H:%M}")
        form.get_by_label("Last liquid").fill(f"{meal:%Y-%m-%dT%H:%M}")
    for box in (
        "Escort home confirmed",
        "Agrees not to drive",
        "Concomitant medications",
        "Questionnaires done",
    ):
        form.get_by_label(box).check()
    form.get_by_role("button", name="Record and run the checks").click()


def gate_row(page: Page, check: str) -> Locator:
    return region(page, "Pre-dose gate").get_by_role("row", name=re.compile(rf"^{check}"))


def dose_and_monitor(page: Page, journey: Journey) -> None:
    page.get_by_role("button", name="Start dosing").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Dosing")
    dose = region(page, re.compile(r"^Record a dose"))
    lot = dose.get_by_label("Lot")
    lot.select_option(label=lot.locator("option", has_text="Spravato").inner_text())
    dose.get_by_label("Dose (mg)").fill("28")
    dose.get_by_role("button", name="Record dose").click()
    expect(region(page, "Given")).to_contain_text("28.00 mg")
    journey.visit(page, "session-dosing")
    page.get_by_role("button", name="Dosing finished: start monitoring").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Monitoring")

    record_reading(
        page,
        "about 40 minutes",
        Systolic="165",
        Diastolic="100",
        **{"Heart rate": "88", "SpO2 (%)": "97", "MOAA/S": "4", "CADSS-6": "5"},
    )
    expect(page.get_by_role("status")).to_contain_text(
        "systolic 165: Recheck systolic blood pressure in 5 minutes."
    )
    monitoring = region(page, "Monitoring")
    expect(monitoring.get_by_role("alert")).to_contain_text("Recheck systolic due")
    journey.visit(page, "session-recheck-alert")
    record_reading(page, None, Systolic="132", Diastolic="84", **{"MOAA/S": "5"})
    expect(monitoring.get_by_role("alert")).to_have_count(0)
    alerts = region(page, "In-session alerts")
    alerts.get_by_label("What was done").fill("Rechecked: 132/84.")
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(alerts).to_contain_text("acknowledged by Nina Okafor, RN")


def try_to_discharge(page: Page, journey: Journey) -> None:
    readiness = region(page, "Readiness to leave")
    for box in (
        "Dissociation resolved",
        "No respiratory depression",
        "Vitals acceptable",
        "Escort present",
    ):
        readiness.get_by_label(box).check()
    readiness.get_by_role("button", name="Assess readiness").click()
    assessed = region(page, "Readiness assessments")
    expect(assessed).to_contain_text("not yet")
    expect(assessed).to_contain_text(re.compile(r"Observation time not met: \d+ of 120 minutes\."))
    expect(page.get_by_role("button", name="Discharge", exact=True)).to_have_count(0)
    journey.visit(page, "session-not-ready")

    # A page left open from earlier could still post a discharge: the server refuses it.
    with page.expect_navigation():
        page.evaluate(
            """() => {
              const form = document.createElement("form");
              form.method = "post";
              form.action = location.pathname + "discharge/";
              form.append(document.querySelector("input[name=csrfmiddlewaretoken]").cloneNode());
              document.body.append(form);
              form.submit();
            }"""
        )
    expect(page.locator("main p[role=alert]").first).to_have_text(
        "Assess readiness to leave first; every criterion must be met."
    )
    expect(page.get_by_role("heading", level=2)).to_contain_text("Monitoring")
    journey.visit(page, "session-discharge-refused")


def test_a_nurse_runs_an_esketamine_session_until_discharge_is_refused_for_time(
    open_page: OpenPage, nurse: Any
) -> None:
    journey = Journey("dosing-session")
    page = open_page(nurse)
    book_a_session(page, journey)
    journey.visit(page, "session-scheduled")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Checked in")
    journey.visit(page, "session-checked-in")

    pre_dose_checks(page, with_fasting_times=False)
    expect(gate_row(page, "Fasting")).to_contain_text("Fail")
    expect(gate_row(page, "Consent current")).to_contain_text("Pass")
    page.get_by_role("button", name="Start dosing").click()
    expect(page.locator("main p[role=alert]").first).to_have_text("Dosing is blocked by: Fasting.")
    journey.visit(page, "session-gate-blocked")

    pre_dose_checks(page, with_fasting_times=True)
    expect(gate_row(page, "Fasting")).to_contain_text("Pass")
    expect(region(page, "Pre-dose gate").get_by_text("Fail", exact=True)).to_have_count(0)
    journey.visit(page, "session-gate-passed")
    dose_and_monitor(page, journey)
    try_to_discharge(page, journey)
    journey.assert_accessible()


def send_a_questionnaire(staff: Page, patient_id: str, journey: Journey) -> None:
    sign_in(staff, "therapist")
    staff.goto(f"/patients/{patient_id}/")
    tabs = staff.get_by_role("navigation", name="Chart sections")
    journey.visit(staff, "therapist-chart")
    tabs.get_by_role("link", name="Measures").click()
    send = region(staff, "Questionnaires")
    send.get_by_label("Send").select_option("phq9")
    send.get_by_label("by", exact=True).select_option("portal")
    send.get_by_role("button", name="Send now").click()
    expect(staff.get_by_role("status")).to_contain_text("Questionnaire available in the portal.")
    journey.visit(staff, "therapist-sent-questionnaire")


def answer_the_questionnaire(page: Page, journey: Journey) -> None:
    card = region(page, "Questionnaires to answer")
    card.get_by_role("link", name=re.compile("GAD-7")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("GAD-7")
    journey.visit(page, "questionnaire")
    questions = page.locator("fieldset")
    expect(questions).to_have_count(7)
    for index in range(7):
        questions.nth(index).get_by_label("Several days").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your answers were received by")
    journey.visit(page, "questionnaire-thanks")


def test_a_patient_answers_a_questionnaire_reads_the_preparation_and_writes_a_journal_entry(
    open_page: OpenPage,
) -> None:
    journey = Journey("patient")
    page = open_page()
    sign_in_with_password(page, "patient")
    expect(page).to_have_url(re.compile(r"/portal/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Hello, "))
    patient_id = page.url.rstrip("/").rsplit("/", 1)[1]
    # Signing the demo plan put the protocol's schedule in place: baseline scales are due.
    due = region(page, "Questionnaires to answer")
    expect(due.get_by_role("link", name=re.compile("GAD-7"))).to_have_count(1)
    journey.visit(page, "home-questionnaire-due")

    send_a_questionnaire(open_page(), patient_id, journey)
    page.reload()
    expect(due.get_by_role("link", name=re.compile("PHQ-9"))).not_to_have_count(0)
    answer_the_questionnaire(page, journey)

    page.goto(f"/portal/{patient_id}/")
    expect(due.get_by_role("link", name=re.compile("GAD-7"))).to_have_count(0)
    visit = region(page, "Your next visit")
    expect(visit.get_by_role("heading", name="Before you come")).to_be_visible()
    expect(visit.get_by_role("listitem").last).to_contain_text("Bring a photo ID")

    page.get_by_role("link", name="Journal", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your journal")
    journey.visit(page, "journal")
    words = "Slept through the night for the first time in weeks."
    page.get_by_label("What would you like to write?").fill(words)
    page.get_by_role("button", name="Save entry").click()
    entry = page.get_by_role("article").filter(has_text=words)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Private")
    journey.visit(page, "journal-saved")
    journey.assert_accessible()


def test_after_an_infusion_billing_posts_front_desk_takes_payment_and_the_patient_gets_a_superbill(
    open_page: OpenPage,
) -> None:
    """Issue 18's checkout: the demo's finished infusions wait as proposed charges."""
    journey = Journey("checkout")
    clerk = open_page()
    sign_in(clerk, "billing")
    clerk.goto("/billing/")
    journey.visit(clerk, "billing-home")
    proposed = region(clerk, "Proposed charges to review")
    row = proposed.get_by_role("row").filter(has_text="Keiko Ellis").first
    row.get_by_role("link", name="Review").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Charges for Keiko Ellis")
    lines = region(clerk, "Lines")
    expect(lines).to_contain_text("96365")  # the first hour of the infusion
    journey.visit(clerk, "charge-review")
    clerk.get_by_role("button", name="Post charges and issue the invoice").click()
    expect(clerk.get_by_role("link", name="Superbill (PDF)")).to_be_visible()
    account_url = clerk.get_by_role("link", name="Patient account").get_attribute("href")
    assert account_url is not None
    charge_path = re.sub(r"^https?://[^/]+", "", clerk.url)

    desk = open_page()
    sign_in(desk, "frontdesk")
    desk.goto(account_url)
    journey.visit(desk, "account-before-payment")
    invoices = region(desk, "Invoices")
    newest = invoices.get_by_role("row").filter(has=desk.locator(f'a[href="{charge_path}"]'))
    owed = newest.get_by_role("cell").nth(4).inner_text().strip()
    number = newest.get_by_role("cell").nth(0).inner_text().strip()
    assert owed.startswith("$") and owed != "$0.00", owed
    pay = region(desk, "Take cash or a cheque")
    pay.get_by_label("Amount").fill(owed.lstrip("$").replace(",", ""))
    pay.get_by_label("Method").select_option("cash")
    choice = pay.get_by_label("For invoice").locator("option", has_text=number)
    value = choice.get_attribute("value")
    assert value is not None
    pay.get_by_label("For invoice").select_option(value)
    pay.get_by_role("button", name="Record payment").click()
    expect(desk.get_by_text(f"{owed} received.")).to_be_visible()
    paid_row = region(desk, "Invoices").get_by_role("row").filter(has_text=number)
    expect(paid_row.get_by_role("cell").nth(4)).to_have_text("$0.00")
    journey.visit(desk, "account-after-payment")

    patient = open_page()
    sign_in_with_password(patient, "patient")
    patient.get_by_role("link", name="Bills", exact=True).click()
    bills = patient.get_by_role("row").filter(has_text=number)
    expect(bills.get_by_role("cell").nth(4)).to_have_text("$0.00")
    journey.visit(patient, "portal-bills")
    href = bills.get_by_role("link", name="Superbill (PDF)").get_attribute("href")
    assert href is not None
    pdf = patient.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
    journey.assert_accessible()
