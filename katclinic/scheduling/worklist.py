"""Today's appointments on each role's Today page: a clinician sees their own, front desk
and the administrator see the clinic's, in the clinic's time."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse

from katclinic.clinics.permissions import Role
from katclinic.core.worklists import Item, Section
from katclinic.scheduling import services
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment, State

LIMIT = 40
WHOLE_CLINIC = frozenset({Role.FRONT_DESK, Role.ADMIN})


def todays_appointments(request: HttpRequest) -> Sequence[Item]:
    clinic = request.clinic  # type: ignore[attr-defined]
    roles: frozenset[str] = getattr(request, "roles", frozenset())
    start, end = services.next_days(clinic, services.today(clinic), 1)
    rows = (
        Appointment.objects.for_clinic(clinic)
        .filter(start__gte=start, start__lt=end)
        .exclude(state=State.CANCELLED)
        .select_related("patient", "staff", "room", "chair__room")
        .order_by("start", "pk")
    )
    if not roles & WHOLE_CLINIC:
        rows = rows.filter(staff_id=request.user.pk)
    tz = clinic_tz(clinic)
    items = []
    for a in rows[:LIMIT]:
        local_start, local_end = a.start.astimezone(tz), a.end.astimezone(tz)
        where = f" · {a.place}" if a.place else ""
        items.append(
            Item(
                f"{local_start:%H:%M}–{local_end:%H:%M} {a.get_kind_display()} · "
                f"{a.patient.full_name}",
                reverse("scheduling:appointment", args=[a.pk]),
                f"With {a.staff.full_name}{where} · {a.get_state_display()} · "
                f"clinic time ({clinic.timezone})",
            )
        )
    return items


SECTION = Section(
    "appointments_today",
    "Today's appointments",
    frozenset(Role),
    todays_appointments,
    empty="No appointments today.",
    link="/scheduling/calendar/grid/?view=day",
    order=20,
)
