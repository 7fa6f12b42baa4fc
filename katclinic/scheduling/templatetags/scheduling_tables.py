"""The chart's Appointments table rows, written in Python.

The template loop ran a form, a select of the five states, three links and a dozen
variables for every appointment, the dearest part of the tab. ``appointment_rows`` writes
the same characters; ``scheduling/tests/test_chart_rows.py`` compares it with the template
loop it replaced, for every state and with text that needs escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as esc
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from katclinic.lib.links import id_url_maker
from katclinic.scheduling.forms import STATE_CHANGES
from katclinic.scheduling.models import Appointment, Kind, State

register = template.Library()

# States a row's form can change; the others show no form.
CHANGEABLE = frozenset({"booked", "confirmed", "checked_in"})
STATE_OPTIONS = format_html_join("", '<option value="{}">{}</option>', STATE_CHANGES)
EMPTY = mark_safe('<tr><td colspan="6">No appointments.</td></tr>')


def appointment_rows(
    appointments: Sequence[Appointment], *, can_schedule: bool, csrf_token: str
) -> SafeString:
    """The table body's rows: when (a link), type, with, where, state and, for those who
    schedule, the form that changes a live appointment's state. The hidden CSRF field is
    written as ``{% csrf_token %}`` writes it; times are in the active time zone."""
    if not appointments:
        return EMPTY
    csrf_input = (
        format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf_token)
        if csrf_token and csrf_token != "NOTPROVIDED"  # noqa: S105 - Django's "no token" marker
        else ""
    )
    # Looked up once for the table, not once per row: the links' patterns, the labels in
    # the active language and the time zone.
    open_url = id_url_maker("scheduling:appointment")
    state_url = id_url_maker("scheduling:appointment_state")
    move_url = id_url_maker("scheduling:move")
    kinds = {value: str(label) for value, label in Kind.choices}
    states = {value: str(label) for value, label in State.choices}
    zone = timezone.get_current_timezone()
    rows = []
    for a in appointments:
        # Ids are integers and the paths reversed from them hold nothing to escape; every
        # text is escaped as the template escaped it (html.escape is what escape() runs).
        pk = a.pk
        change = ""
        if can_schedule:
            change = (
                "<td>\n"
                f'      <form method="post" action="{state_url(pk)}">{csrf_input}\n'
                f'        <label for="state-{pk}" class="visually-hidden">New state</label>\n'
                f'        <select id="state-{pk}" name="state">{STATE_OPTIONS}</select>\n'
                f'        <label for="reason-{pk}" class="visually-hidden">Reason</label>'
                f'<input id="reason-{pk}" name="reason" placeholder="Reason (to cancel)">\n'
                '        <button type="submit">Apply</button></form>\n'
                f'      <a href="{move_url(pk)}">Move</a> · <a href="{open_url(pk)}">Open</a></td>'
                if a.state in CHANGEABLE
                else "<td></td>"
            )
        reason = f' <span class="muted">{esc(a.cancel_reason)}</span>' if a.cancel_reason else ""
        rows.append(
            f'<tr><td><a href="{open_url(pk)}">'
            f"{a.start.astimezone(zone):%Y-%m-%d %H:%M}</a></td>"
            f"<td>{esc(kinds.get(a.kind, a.kind))}</td><td>{esc(a.staff.full_name)}</td>"
            f"<td>{esc(a.place)}</td>\n"
            f'    <td><span class="badge">{esc(states.get(a.state, a.state))}</span>{reason}</td>\n'
            f"    {change}</tr>\n  "
        )
    return mark_safe("".join(rows))  # noqa: S308 - every text in the rows is escaped above


@register.simple_tag(takes_context=True)
def appointment_table_rows(
    context: template.Context, appointments: Sequence[Appointment], can_schedule: bool
) -> SafeString:
    """``appointment_rows`` with the page's CSRF token."""
    token: Any = context.get("csrf_token", "")
    return appointment_rows(appointments, can_schedule=can_schedule, csrf_token=str(token))
