"""Every chart of the staff pages drawn in headless Chromium by the one chart script: the
session's vitals, the patient's measures and progress, the surveillance review and the
outcome dashboard's Kaplan-Meier curves.

Each chart is checked against the data block its page carries: one SVG per chart, a mark
per point inside the plot (the axis holds every value), one line per level, one bar per
session, and a tooltip that keyboard focus shows and Escape hides.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from katclinic.core.tests.test_browser import (  # noqa: F401 - base_url, browser, page are fixtures
    BROWSER_TESTS,
    assert_accessible,
    base_url,
    browser,
    page,
    screenshots,
    sign_in,
)

pytestmark = BROWSER_TESTS
# The plot area of js/chart.js's drawing (viewBox 640 x 230, padding 26 above, 30 below).
PLOT_TOP, PLOT_BOTTOM = 26, 200


def specs(page: Page, block_id: str) -> list[dict[str, Any]]:  # noqa: F811 - not the fixture
    return json.loads(page.locator(f"script#{block_id}").text_content() or "[]")


def marks_inside_the_plot(svg: Locator) -> bool:
    heights: list[float] = svg.locator(".chart-marks circle").evaluate_all(
        "dots => dots.map(d => Number(d.getAttribute('cy')))"
    )
    return all(PLOT_TOP <= y <= PLOT_BOTTOM for y in heights)


def check_chart(svg: Locator, spec: dict[str, Any]) -> None:
    marked = sum(len(s["points"]) for s in spec["series"] if s.get("marks"))
    drawn = [s for s in spec["series"] if s["points"]]
    expect(svg.locator(".chart-marks .chart-focusable")).to_have_count(marked)
    expect(svg.locator("path.chart-line")).to_have_count(len(drawn))
    counts = svg.locator("path.chart-line").evaluate_all(
        "lines => lines.map(l => Number(l.getAttribute('data-points')))"
    )
    assert counts == [len(s["points"]) for s in drawn]
    expect(svg.locator("line.chart-level")).to_have_count(len(spec.get("levels", [])))
    expect(svg.locator("rect.chart-marker")).to_have_count(len(spec.get("markers", [])))
    expect(svg).to_have_attribute("aria-label", spec["summary"])
    assert marks_inside_the_plot(svg), "a point is drawn outside the plot"


def check_block(page: Page, block_id: str) -> list[dict[str, Any]]:  # noqa: F811 - not the fixture
    """Every chart in the block drawn as the block says, and at least one level line."""
    charts = specs(page, block_id)
    assert charts, f"{block_id} holds no chart"
    svgs = page.locator(f'[data-chart="{block_id}"] svg')
    expect(svgs).to_have_count(len(charts))
    for index, spec in enumerate(charts):
        check_chart(svgs.nth(index), spec)
    return charts


def check_tooltip(page: Page, block_id: str) -> None:  # noqa: F811 - not the fixture
    """Focus the first point, Tab to the next: its tooltip shows its value; Escape hides it."""
    svg = page.locator(f'[data-chart="{block_id}"] svg').first
    focusable = svg.locator(".chart-focusable")
    assert focusable.count() >= 2, f"{block_id}: fewer than two focusable parts"
    tooltip = svg.locator(".chart-tooltip")
    expect(tooltip).to_have_attribute("visibility", "hidden")
    focusable.first.focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused, "Tab did not move to the next point of the chart"
    expect(tooltip).to_have_attribute("visibility", "visible")
    expect(tooltip.locator("text")).to_have_text(focused)
    page.keyboard.press("Escape")
    expect(tooltip).to_have_attribute("visibility", "hidden")


def levels_in(charts: list[dict[str, Any]]) -> set[str]:
    return {level["kind"] for chart in charts for level in chart.get("levels", [])}


def tab(page: Page, name: str) -> None:  # noqa: F811 - not the fixture
    page.get_by_role("navigation", name="Chart sections").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def test_a_nurse_sees_the_vitals_measures_progress_and_review_charts(page: Page) -> None:  # noqa: F811
    sign_in(page, "nurse")
    page.goto("/dosing/board/")
    page.locator("article.chair h2 a").first.click()
    expect(page).to_have_url(re.compile(r"/dosing/\d+/$"))
    vitals = check_block(page, "vitals-data")
    assert "threshold" in levels_in(vitals)
    check_tooltip(page, "vitals-data")
    screenshots(page, "chart-vitals")
    assert_accessible(page, "chart-vitals")

    tab(page, "Measures")
    scores = check_block(page, "measures-series")
    assert "band" in levels_in(scores)
    check_tooltip(page, "measures-series")
    assert_accessible(page, "chart-measures")

    tab(page, "Progress")
    progress = check_block(page, "progress-data")
    assert {"response", "remission"} & levels_in(progress)
    check_tooltip(page, "progress-data")
    assert_accessible(page, "chart-progress")

    tab(page, "Surveillance")
    exposure = check_block(page, "exposure-data")
    assert "threshold" in levels_in(exposure)
    check_block(page, "outcome-data")
    check_tooltip(page, "outcome-data")
    expect(
        page.locator('[data-chart="exposure-data"] details table tbody tr').first
    ).to_be_attached()
    screenshots(page, "chart-surveillance")
    assert_accessible(page, "chart-surveillance")


def test_an_admin_sees_the_kaplan_meier_curves(page: Page) -> None:  # noqa: F811
    sign_in(page, "admin")
    page.goto("/outcomes/")
    blocks = page.locator("[data-chart^='km-']")
    expect(blocks.first).to_be_attached()
    names = blocks.evaluate_all("boxes => boxes.map(b => b.getAttribute('data-chart'))")
    for name in names:
        curve = check_block(page, name)
        assert levels_in(curve) == {"reference"}
    check_tooltip(page, names[0])
    screenshots(page, "chart-kaplan-meier")
    assert_accessible(page, "chart-kaplan-meier")
