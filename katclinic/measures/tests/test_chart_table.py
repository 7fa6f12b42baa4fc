"""The responses table's rows, built in Python, are the markup the template printed: the
loop it replaced is rendered here with the same rows and compared, for every kind of cell."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.template import Context, Template
from django.urls import reverse

from katclinic.measures.catalogue import definition_of, require_instrument
from katclinic.measures.charting import Point
from katclinic.measures.templatetags.measures_table import response_rows
from katclinic.outcomes.tests import helpers as h
from katclinic.testing import ClinicTestCase

# The template's loop before the rows were built in Python, kept verbatim.
TEMPLATE_ROWS = Template(
    """{% for row in responses %}{% with r=row.point %}<tr><td>{{ row.when }}</td><td>{{ row.name }} <span class="muted">v{{ r.version }}</span></td><td>{{ r.total|default_if_none:"—" }}{% if row.domains %}<ul class="domain-scores" aria-label="Domain scores">{% for d in row.domains %}<li>{{ d.label }}: {{ d.score|default_if_none:"not answered" }}</li>{% endfor %}</ul>{% endif %}</td><td>{{ r.band|default:r.risk|default:"—" }}{% for f in row.flags %} <span class="badge danger">{{ f }}</span>{% endfor %}{% if r.corrects_id %} <span class="badge">corrected</span>{% endif %}</td><td>{{ row.source }}</td>{% if can_enter %}<td><a href="{{ row.correct_url }}">Correct<span class="visually-hidden"> {{ row.name }} of {{ row.when }}</span></a></td>{% endif %}</tr>{% endwith %}
    {% empty %}<tr><td colspan="{% if can_enter %}6{% else %}5{% endif %}">None.</td></tr>{% endfor %}"""  # noqa: E501
)


def template_rows(rows: list[dict[str, Any]], can_enter: bool) -> str:
    return TEMPLATE_ROWS.render(Context({"responses": rows, "can_enter": can_enter}))


class ResponseRowsTest(ClinicTestCase):
    def rows(self) -> list[dict[str, Any]]:
        definition = definition_of(require_instrument("phq9", self.clinic.pk))
        point = Point(
            pk=7,
            key="phq9",
            version="1",
            at=h.on(1),
            total=12,
            band="Moderate",
            risk="",
            complete=True,
            source="staff",
            corrects_id=None,
            definition=definition,
        )
        base = {
            "point": point,
            "when": "2026-01-02 10:00",
            "source": "Staff <entry>",
            "correct_url": "/measures/responses/7/correct/?a=1&b=2",
            "name": 'PHQ-9 "depression" & <mood>',
            "flags": [],
            "domains": [],
        }
        return [
            base,
            base
            | {"point": replace(point, total=None, band="", risk="high"), "flags": ["Item 9 <"]},
            base | {"point": replace(point, band="", risk="", corrects_id=3), "flags": ["a", "b"]},
            base
            | {
                "point": replace(point, total=0),
                "domains": [{"label": "Sleep & <rest>", "score": 2}, {"label": "X", "score": None}],
            },
        ]

    def test_rows_equal_the_templates_markup_with_and_without_the_action_column(self) -> None:
        rows = self.rows()
        for can_enter in (True, False):
            for shown in (rows, rows[:1], []):
                self.assertEqual(
                    str(response_rows(shown, can_enter)), template_rows(shown, can_enter)
                )

    def test_the_tab_prints_the_rows_the_template_did(self) -> None:
        h.course(self.pat, self.paula, [(0, 20), (7, 14), (14, 9)])
        self.login(self.paula)
        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))
        self.assertEqual(page.status_code, 200)
        rows = page.context["responses"]
        self.assertEqual(len(rows), 3)
        expected = template_rows(rows, page.context["can_enter"])
        self.assertIn(f"<tbody>{expected}</tbody>", page.content.decode())
        self.assertIn('<span class="visually-hidden"> ', expected)
