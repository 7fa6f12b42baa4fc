"""PDF documents drawn with fpdf2: the progress report and the patient's full record.

Compression is off so that the text of a report can be checked in tests and read by
simple tools; the files stay small because the reports are mostly text and lines.
The built-in fonts cover Latin-1 only, so text outside it is transliterated.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

CHART_W, CHART_H = 180.0, 70.0
BLUE, GREY, RED, GREEN, ORANGE = (
    (37, 99, 235),
    (150, 150, 150),
    (200, 40, 40),
    (22, 140, 70),
    (210, 120, 20),
)


def latin1(text: object) -> str:
    """Text the core PDF fonts can show: accents folded, other characters replaced."""
    value = str(text if text is not None else "")
    value = (
        value.replace("\u2014", "-")
        .replace("\u2013", "-")
        .replace("\u2265", ">=")
        .replace("\u2264", "<=")
    )
    folded = unicodedata.normalize("NFKD", value)
    return (
        "".join(ch for ch in folded if not unicodedata.combining(ch))
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


class Document(FPDF):
    """An A4 document with a title line and page numbers in the footer."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__(format="A4")
        self.doc_title, self.subtitle = latin1(title), latin1(subtitle)
        # Worded when the document is made, so the footer follows the reader's language.
        self.page_words = latin1(_("page"))
        self.confidential = latin1(_("confidential health information"))
        self.set_compression(False)
        self.set_title(self.doc_title)
        self.set_creator("KAT Clinic")
        self.set_auto_page_break(auto=True, margin=15)
        self.add_page()
        self.set_font("Helvetica", "B", 15)
        self.cell(0, 8, self.doc_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 5, self.subtitle, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(
            0,
            5,
            f"{self.doc_title} - {self.page_words} {self.page_no()} - {self.confidential}",
            align="C",
        )

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 12)
        self.cell(0, 7, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)

    def paragraph(self, text: str) -> None:
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 4.5, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def facts(self, pairs: Sequence[tuple[str, object]]) -> None:
        for label, value in pairs:
            self.set_font("Helvetica", "B", 9)
            self.cell(55, 5, latin1(label))
            self.set_font("Helvetica", "", 9)
            self.multi_cell(
                0,
                5,
                latin1(value if value not in (None, "") else "-"),
                new_x="LMARGIN",
                new_y="NEXT",
            )

    def rows(self, header: Sequence[str], body: Sequence[Sequence[object]]) -> None:
        if not body:
            self.paragraph(_("None recorded."))
            return
        self.set_font("Helvetica", "", 8)
        with self.table(first_row_as_headings=True, line_height=4.5) as table:
            for values in [header, *body]:
                row = table.row()
                for value in values:
                    row.cell(latin1(value if value not in (None, "") else "-"))
        self.set_font("Helvetica", "", 9)


def when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


Scale = Callable[[float], float]
TimeScale = Callable[[str], float]


def draw_chart(pdf: Document, chart: dict[str, Any]) -> None:
    """The progress chart: primary scores, thresholds and sessions on one time axis."""
    series = chart.get("series", {}).get(chart.get("primary", ""))
    if not series or not series["points"]:
        pdf.paragraph("No scores on the outcome instrument in this course yet.")
        return
    if pdf.get_y() + CHART_H + 20 > pdf.h - 15:
        pdf.add_page()
    left, top = pdf.l_margin + 10, pdf.get_y() + 4
    x, y = _scales(series, chart.get("sessions", []), left, top)
    _axes(pdf, left, top, series["min"], max(series["max"], series["min"] + 1), series["title"])
    _sessions(pdf, chart.get("sessions", []), x, top)
    _thresholds(pdf, chart.get("thresholds", {}), left, y)
    _scores(pdf, [(x(p["at"]), y(p["total"])) for p in series["points"]])
    _dates_and_key(pdf, series["points"], left, top)


def _scales(
    series: dict[str, Any], sessions: list[dict[str, Any]], left: float, top: float
) -> tuple[TimeScale, Scale]:
    """Page positions of a time (spanning every score and session) and of a score."""
    times = [datetime.fromisoformat(p["at"]).timestamp() for p in series["points"]]
    times += [datetime.fromisoformat(s["at"]).timestamp() for s in sessions]
    t0, t1 = min(times), max(times)
    span = max(t1 - t0, 1.0)
    low, high = series["min"], max(series["max"], series["min"] + 1)

    def x(at: str) -> float:
        return left + (CHART_W - 10) * (datetime.fromisoformat(at).timestamp() - t0) / span

    def y(value: float) -> float:
        return top + CHART_H * (1 - (value - low) / (high - low))

    return x, y


def _scores(pdf: Document, points: list[tuple[float, float]]) -> None:
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.6)
    pdf.polyline(points)
    pdf.set_fill_color(*BLUE)
    for px, py in points:
        pdf.circle(x=px, y=py, radius=0.9, style="F")


def _dates_and_key(pdf: Document, points: list[dict[str, Any]], left: float, top: float) -> None:
    """The first and last dates under the axis, then what each colour means."""
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_font("Helvetica", "", 7)
    pdf.text(left, top + CHART_H + 4, points[0]["at"][:10])
    pdf.text(left + CHART_W - 25, top + CHART_H + 4, points[-1]["at"][:10])
    pdf.set_y(top + CHART_H + 7)
    pdf.paragraph(
        "Blue: scores. Green dashed: remission level. Orange dashed: response level. "
        "Grey bars: dosing sessions (peak blood pressure above each)."
    )


def _axes(pdf: Document, left: float, top: float, low: float, high: float, title: str) -> None:
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.line(left, top, left, top + CHART_H)
    pdf.line(left, top + CHART_H, left + CHART_W - 10, top + CHART_H)
    pdf.set_font("Helvetica", "", 7)
    pdf.text(left - 8, top + 2, str(high))
    pdf.text(left - 8, top + CHART_H, str(low))
    pdf.text(left + 2, top - 1, latin1(title))


def _sessions(pdf: Document, sessions: list[dict[str, Any]], x: TimeScale, top: float) -> None:
    pdf.set_draw_color(*GREY)
    pdf.set_font("Helvetica", "", 6)
    for session in sessions:
        sx = x(session["at"])
        pdf.line(sx, top + 3, sx, top + CHART_H)
        if session.get("bp"):
            pdf.text(sx - 4, top + 2, session["bp"])


def _thresholds(pdf: Document, lines: dict[str, Any], left: float, y: Scale) -> None:
    for key, colour in (("response", ORANGE), ("remission", GREEN)):
        line = lines.get(key)
        if not line:
            continue
        pdf.set_draw_color(*colour)
        pdf.set_dash_pattern(dash=1.5, gap=1)
        pdf.line(left, y(line["value"]), left + CHART_W - 10, y(line["value"]))
        pdf.set_dash_pattern()
        pdf.set_font("Helvetica", "", 6)
        pdf.text(left + CHART_W - 40, y(line["value"]) - 0.8, latin1(line["label"]))


def output(pdf: Document) -> bytes:
    return bytes(pdf.output())
