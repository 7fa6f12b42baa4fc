"""A Spanish-speaking patient on a phone: the portal in Spanish from sign-in to a booked
integration session, a questionnaire and a message, each page checked with axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url, browser, page are fixtures
    BROWSER_TESTS,
    PHONE,
    assert_accessible,
    base_url,
    browser,
    page,
    screenshots,
    sign_in_with_password,
)

pytestmark = BROWSER_TESTS


def test_a_spanish_speaking_patient_uses_the_portal_on_a_phone(page: Page) -> None:  # noqa: F811
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    sign_in_with_password(page, "paciente")
    expect(page).to_have_url(re.compile(r"/portal/\d+/$"))
    patient_id = re.search(r"/portal/(\d+)/", page.url).group(1)  # type: ignore[union-attr]
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("¿Necesita ayuda ahora?").first).to_be_visible()
    expect(page.get_by_text("Cuestionarios por responder")).to_be_visible()
    assert_accessible(page, "es-portal-home")

    page.get_by_role("link", name="PHQ-9").first.click()
    expect(page.get_by_text("Poco interés o placer en hacer cosas")).to_be_visible()
    assert_accessible(page, "es-questionnaire")
    for group in page.locator("fieldset").all():
        group.locator("input[type=radio]").first.check()
    page.locator("main form[method=post] button[type=submit]").last.click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Gracias").first).to_be_visible()

    page.goto(f"/messaging/mine/{patient_id}/new/")
    assert_accessible(page, "es-new-message")
    page.locator("[name=subject]").fill("Pregunta")
    page.locator("[name=body]").fill("¿Puedo venir con mi pareja a la sesión?")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_text("¿Puedo venir con mi pareja a la sesión?")).to_be_visible()
    assert_accessible(page, "es-message-thread")

    page.goto(f"/scheduling/me/{patient_id}/book/?kind=integration")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert_accessible(page, "es-booking")
    page.get_by_role("button", name="Reservar este horario").first.click()
    expect(page).to_have_url(re.compile(rf"/portal/{patient_id}/visits/$"))
    expect(page.get_by_text("Su cita está reservada.").first).to_be_visible()
    screenshots(page, "es-visits")
    assert_accessible(page, "es-visits")
