"""A staff member's iCalendar feed: appointment kind, place and time, never who the patient is."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.scheduling.models import Appointment, CalendarFeed, hash_feed_token

WINDOW_BACK, WINDOW_AHEAD = timedelta(days=14), timedelta(days=120)


@transaction.atomic
def issue_feed(*, clinic: Clinic, staff: User, request: HttpRequest | None = None) -> str:
    """Revoke the staff member's old feed and return the new secret token (shown once)."""
    revoke_feeds(clinic=clinic, staff=staff, request=None, record=False)
    raw = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        clinic=clinic, staff=staff, token_hash=hash_feed_token(raw), prefix=raw[:8]
    )
    audit.record(
        request=request,
        user=staff,
        action=Action.SECURITY,
        clinic_id=clinic.pk,
        obj=feed,
        detail={"calendar_feed": "issued"},
    )
    return raw


@transaction.atomic
def revoke_feeds(
    *, clinic: Clinic, staff: User, request: HttpRequest | None = None, record: bool = True
) -> int:
    count = CalendarFeed.objects.filter(clinic=clinic, staff=staff, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if record and count:
        audit.record(
            request=request,
            user=staff,
            action=Action.SECURITY,
            clinic_id=clinic.pk,
            object_type="scheduling.calendarfeed",
            detail={"calendar_feed": "revoked"},
        )
    return count


def feed_for_token(raw: str) -> CalendarFeed | None:
    if not raw or len(raw) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("clinic", "staff")
        .filter(token_hash=hash_feed_token(raw), revoked_at__isnull=True, staff__is_active=True)
        .first()
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render(feed: CalendarFeed, now: datetime | None = None) -> str:
    """The feed as iCalendar text. Deliberately carries no patient identifier of any kind."""
    now = now or timezone.now()
    appointments = (
        Appointment.objects.filter(
            clinic=feed.clinic,
            staff=feed.staff,
            start__gte=now - WINDOW_BACK,
            start__lte=now + WINDOW_AHEAD,
        )
        .live()
        .select_related("room", "chair__room")
        .order_by("start")
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//KAT Clinic//Staff calendar//EN",
        f"X-WR-CALNAME:{_escape(feed.clinic.name)}",
    ]
    for appt in appointments:
        lines += [
            "BEGIN:VEVENT",
            f"UID:appointment-{appt.pk}@katclinic",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(appt.start)}",
            f"DTEND:{_stamp(appt.end)}",
            f"SUMMARY:{_escape(appt.get_kind_display())}",
            f"LOCATION:{_escape(appt.place)}",
            f"STATUS:{'CONFIRMED' if appt.state != 'booked' else 'TENTATIVE'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
