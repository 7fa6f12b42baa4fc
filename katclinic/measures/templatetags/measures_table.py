"""The Measures tab's responses table, its rows built here: the tab prints up to fifty, and
the template engine's lookups and filters on every cell were most of the page's rendering.
The markup is the template's (``measures/tests/test_chart_table.py`` renders both and
compares them); every value is escaped by ``format_html``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

# What the template put after each row: the text between the row and the loop's end.
_AFTER_ROW = "\n    "


def _total_cell(row: dict[str, Any]) -> SafeString:
    total = row["point"].total
    domains = format_html_join(
        "",
        "<li>{}: {}</li>",
        (
            (d["label"], "not answered" if d["score"] is None else d["score"])
            for d in row["domains"]
        ),
    )
    return format_html(
        "{}{}",
        "—" if total is None else total,
        format_html('<ul class="domain-scores" aria-label="Domain scores">{}</ul>', domains)
        if row["domains"]
        else "",
    )


def _band_cell(row: dict[str, Any]) -> SafeString:
    point = row["point"]
    flags = format_html_join(
        "", ' <span class="badge danger">{}</span>', ((f,) for f in row["flags"])
    )
    corrected = (
        format_html(' <span class="badge">{}</span>', "corrected") if point.corrects_id else ""
    )
    return format_html("{}{}{}", point.band or point.risk or "—", flags, corrected)


def _row(row: dict[str, Any], can_enter: bool) -> SafeString:
    point = row["point"]
    action = (
        format_html(
            '<td><a href="{}">Correct<span class="visually-hidden"> {} of {}</span></a></td>',
            row["correct_url"],
            row["name"],
            row["when"],
        )
        if can_enter
        else ""
    )
    return format_html(
        '<tr><td>{}</td><td>{} <span class="muted">v{}</span></td><td>{}</td><td>{}</td>'
        "<td>{}</td>{}</tr>{}",
        row["when"],
        row["name"],
        point.version,
        _total_cell(row),
        _band_cell(row),
        row["source"],
        action,
        _AFTER_ROW,
    )


@register.simple_tag
def response_rows(rows: list[dict[str, Any]], can_enter: bool) -> SafeString:
    """The table body's rows (``measures.charting.table_rows``), or its one empty row."""
    if not rows:
        return format_html('<tr><td colspan="{}">None.</td></tr>', 6 if can_enter else 5)
    return format_html_join("", "{}", ((_row(row, can_enter),) for row in rows))
