"""The at-home sessions section of the nurse's and prescriber's worklists, and the patient's
portal home card."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.athome import services
from katclinic.athome.models import AlertState, HomeAlert, HomeSession, SessionState
from katclinic.clinics.permissions import Role
from katclinic.core.worklists import Item, Section
from katclinic.patients.models import Patient
from katclinic.portal.home import Card, CardContent, Line

LIMIT = 10
# A week of sessions stays on the worklist so the team sees how each went before the next visit.
RECENT_DAYS = 7
LEVEL = {
    SessionState.BLOCKED: "warn",
    SessionState.TAKEN: "",
    SessionState.MISSED: "danger",
}


def at_home_items(request: HttpRequest) -> Sequence[Item]:
    clinic = request.clinic  # type: ignore[attr-defined]
    alerts = (
        HomeAlert.objects.for_clinic(clinic)
        .unresolved()
        .select_related("patient")
        .order_by("raised_at")[:LIMIT]
    )
    items = [
        Item(
            f"{a.patient.full_name}: {a.get_kind_display()}",
            reverse("athome:alerts"),
            a.reason[:140],
            "danger" if a.state == AlertState.OPEN else "warn",
        )
        for a in alerts
    ]
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    sessions = (
        HomeSession.objects.for_clinic(clinic)
        .filter(started_at__gte=since)
        .select_related("patient")
        .order_by("-started_at")[:LIMIT]
    )
    for s in sessions:
        when = timezone.localtime(s.started_at)
        items.append(
            Item(
                f"{s.patient.full_name}: at-home session {s.get_state_display().lower()}",
                reverse("athome:patient", args=[s.patient_id]),
                f"{when:%a %-d %b %H:%M}",
                LEVEL.get(SessionState(s.state), ""),
            )
        )
    return items


SECTIONS = [
    Section(
        key="athome.sessions",
        title="At-home sessions",
        roles=frozenset({Role.NURSE, Role.PRESCRIBER}),
        items=at_home_items,
        empty="No at-home sessions or alerts in the last few days.",
        link="/athome/alerts/",
        order=45,
    )
]


def home_card(request: HttpRequest, patient: Patient) -> CardContent | None:
    prescription = services.current_prescription(patient)
    latest = HomeSession.objects.filter(patient=patient).first()
    if prescription is None and latest is None:
        return None
    lines = []
    if latest is not None and latest.state in (
        SessionState.CHECKING_IN,
        SessionState.OPEN,
        SessionState.TAKEN,
    ):
        url = reverse("athome:my_session", args=[patient.pk, latest.pk])
        text = {
            "checking_in": "Finish your check-in",
            "open": "Your session is open",
            "taken": "Post-session check-in to do",
        }[latest.state]
        lines.append(Line(text, url, level="warn"))
    elif latest is not None:
        lines.append(
            Line(
                f"Last session: {latest.get_state_display().lower()}",
                reverse("athome:my_session", args=[patient.pk, latest.pk]),
                f"{timezone.localtime(latest.started_at):%-d %B %Y}",
            )
        )
    return CardContent(
        lines=lines,
        empty="No at-home session yet.",
        link=reverse("athome:mine", args=[patient.pk]),
        link_label="At-home sessions",
    )


CARD = Card("athome", "At-home sessions", home_card)
