"""A staff member's iCalendar feed: appointment kind, place and time, never who the patient is."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import icalendar
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


def render(feed: CalendarFeed, now: datetime | None = None) -> str:
    """The feed as iCalendar (RFC 5545) text, escaped and line-folded by the icalendar
    library. Deliberately carries no patient identifier of any kind."""
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
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//KAT Clinic//Staff calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", icalendar.vText(feed.clinic.name))
    for appt in appointments:
        event = icalendar.Event()
        event.add("uid", f"appointment-{appt.pk}@katclinic")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", appt.start.astimezone(UTC))
        event.add("dtend", appt.end.astimezone(UTC))
        event.add("summary", appt.get_kind_display())
        event.add("location", appt.place)
        event.add("status", "CONFIRMED" if appt.state != "booked" else "TENTATIVE")
        calendar.add_component(event)
    return calendar.to_ical().decode()
