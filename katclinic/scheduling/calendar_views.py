"""The clinic calendar: day and week views by clinician, room or chair; booking from an empty
slot; an appointment's page with its actions; moving; undo; the free-slot finder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.clinics.access import get_patient_for_edit, has_perm, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import Perm, Role
from katclinic.lib.parse import BadParameter, optional_id
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlanStatus
from katclinic.scheduling import calendar, services, undo
from katclinic.scheduling.access import get_appointment_for_edit
from katclinic.scheduling.clinic_settings import SLOT_MINUTES
from katclinic.scheduling.forms import (
    COLUMN_CHOICES,
    CalendarBookForm,
    CalendarQuery,
    FreeSlotForm,
    MoveForm,
    StateForm,
)
from katclinic.scheduling.hours import as_clinic_time, clinic_hours, clinic_tz
from katclinic.scheduling.models import Appointment, Chair, Kind, Room, State

CLINICIAN_ROLES = (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)
SHOWN_STATES = [s.value for s in State if s != State.CANCELLED]
NO_PLACE = "none"


def _local(clinic: Clinic, moment: datetime) -> datetime:
    return moment.astimezone(clinic_tz(clinic))


def _clinicians(clinic: Clinic) -> list[User]:
    ids = (
        StaffMembership.objects.active()
        .filter(clinic=clinic, role__in=CLINICIAN_ROLES, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    return list(User.objects.filter(pk__in=ids).order_by("full_name"))


def _column_key(by: str, appointment: Appointment) -> str:
    if by == "staff":
        return f"staff:{appointment.staff_id}"
    if by == "chair":
        return f"chair:{appointment.chair_id or NO_PLACE}"
    room = appointment.room_id or (appointment.chair.room_id if appointment.chair else None)
    return f"room:{room or NO_PLACE}"


def _columns(
    clinic: Clinic, by: str, appointments: list[Appointment], staff: User | None
) -> list[calendar.Column]:
    if by == "staff":
        people = [staff] if staff is not None else _clinicians(clinic)
        known = {p.pk for p in people}
        extra = {a.staff_id: a.staff for a in appointments if a.staff_id not in known}
        people += sorted(extra.values(), key=lambda u: u.full_name)
        return [calendar.Column(f"staff:{p.pk}", p.full_name) for p in people]
    if by == "chair":
        columns = [
            calendar.Column(f"chair:{c.pk}", str(c))
            for c in Chair.objects.filter(clinic=clinic, is_active=True).select_related("room")
        ]
        label = "No chair"
    else:
        columns = [
            calendar.Column(f"room:{r.pk}", r.name)
            for r in Room.objects.filter(clinic=clinic, is_active=True)
        ]
        label = "No room"
    known_keys = {c.key for c in columns}
    for a in appointments:
        key = _column_key(by, a)
        if key not in known_keys:
            known_keys.add(key)
            name = label if key.endswith(NO_PLACE) else (a.place or label)
            columns.append(calendar.Column(key, name))
    return columns


def _entry(clinic: Clinic, by: str, a: Appointment) -> calendar.Entry:
    start, end = _local(clinic, a.start), _local(clinic, a.end)
    other = a.place if by == "staff" else a.staff.full_name
    return calendar.Entry(
        pk=a.pk,
        column=_column_key(by, a),
        start=start,
        end=end,
        title=a.patient.full_name,
        kind=a.kind,
        state=a.state,
        detail=f"{a.get_kind_display()} · {a.get_state_display()}"
        + (f" · {other}" if other else ""),
    )


def _slot_query(by: str, column: calendar.Column, start: datetime, patient: int | None) -> str:
    params: dict[str, Any] = {"start": start.strftime("%Y-%m-%dT%H:%M")}
    kind, _, pk = column.key.partition(":")
    if pk != NO_PLACE:
        params[kind] = pk
    if kind == "chair" and pk != NO_PLACE:
        params["kind"] = Kind.DOSING.value
    if patient:
        params["patient"] = patient
    return urlencode(params)


def _plan_links(clinic: Clinic, patient: Patient, first_day: date) -> list[tuple[str, str]]:
    """(plan title, link) for the patient's active plans with no visit booked ahead yet:
    each proposes the plan's visits from the shown week (or today, if that is later)."""
    booked_ahead = Appointment.objects.filter(
        plan=OuterRef("pk"), start__gte=timezone.now(), state__in=[State.BOOKED, State.CONFIRMED]
    )
    plans = (
        Plan.objects.filter(clinic=clinic, patient=patient, status=PlanStatus.ACTIVE)
        .exclude(Exists(booked_ahead))
        .select_related("protocol_version")
        .order_by("pk")
    )
    params = {"start_on": max(first_day, services.today(clinic)).isoformat()}
    if patient.responsible_clinician_id:
        params["staff"] = str(patient.responsible_clinician_id)
    query = urlencode(params)
    return [
        (
            plan.protocol_version.title,
            f"{reverse('scheduling:plan_schedule', args=[plan.pk])}?{query}",
        )
        for plan in plans
    ]


@dataclass(frozen=True)
class _View:
    """What the calendar shows: day or week around `anchor`, in columns `by`."""

    view: str
    by: str
    anchor: date
    staff: User | None
    patient: Patient | None

    @classmethod
    def asked(cls, clinic: Clinic, data: dict[str, Any]) -> _View:
        """The view the query asks for: this week by clinician unless it says otherwise."""
        return cls(
            view=data["view"] or "week",
            by=data["by"] or "staff",
            anchor=data["date"] or services.today(clinic),
            staff=data["staff"],
            patient=data["patient"],
        )

    def link(self, **changes: object) -> str:
        """This calendar's address with `changes` to its query."""
        params: dict[str, object] = {
            "view": self.view,
            "by": self.by,
            "date": self.anchor.isoformat(),
            "staff": self.staff.pk if self.staff else "",
            "patient": self.patient.pk if self.patient else "",
        }
        params.update(changes)
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{reverse('scheduling:calendar')}?{query}"


def _shown_appointments(clinic: Clinic, days: list[date], shown: _View) -> list[Appointment]:
    start, end = services.next_days(clinic, days[0], len(days))
    appointments = list(
        Appointment.objects.for_clinic(clinic)
        .filter(start__gte=start, start__lt=end, state__in=SHOWN_STATES)
        .select_related("patient", "staff", "room", "chair__room")
        .order_by("start", "pk")
    )
    if shown.staff is not None and shown.by == "staff":
        appointments = [a for a in appointments if a.staff_id == shown.staff.pk]
    return appointments


def _mark_bookable(grid: calendar.Grid, shown: _View, can_schedule: bool) -> None:
    """Each open, empty cell still to come gets the address that books it."""
    now = timezone.now()
    book_url = reverse("scheduling:calendar_book")
    patient_id = shown.patient.pk if shown.patient else None
    for row in grid.rows:
        for cell in row.cells:
            bookable = can_schedule and cell.open and not cell.entries and cell.start >= now
            cell.book_url = (  # type: ignore[attr-defined]
                f"{book_url}?{_slot_query(shown.by, cell.column, cell.start, patient_id)}"
                if bookable
                else ""
            )


def _calendar_grid(request: StaffRequest, days: list[date], shown: _View) -> calendar.Grid:
    """The grid of the shown appointments, whose patients' listing is audited."""
    clinic = request.clinic
    appointments = _shown_appointments(clinic, days, shown)
    audit.record_list(
        request=request, patient_ids=[a.patient_id for a in appointments], what="calendar"
    )
    grid = calendar.layout(
        days=days,
        columns=_columns(
            clinic, shown.by, appointments, shown.staff if shown.by == "staff" else None
        ),
        entries=[_entry(clinic, shown.by, a) for a in appointments],
        hours=clinic_hours(clinic),
        slot_minutes=SLOT_MINUTES.value(clinic),
        tz=clinic_tz(clinic),
    )
    _mark_bookable(grid, shown, has_perm(request, Perm.SCHEDULE))
    return grid


def _navigation(clinic: Clinic, shown: _View) -> dict[str, object]:
    """Links to the previous and next period, today, and the other views and columns."""
    view, anchor = shown.view, shown.anchor
    return {
        "prev_url": shown.link(date=calendar.shift(anchor, view, -1).isoformat()),
        "next_url": shown.link(date=calendar.shift(anchor, view, 1).isoformat()),
        "today_url": shown.link(date=services.today(clinic).isoformat()),
        "view_urls": [(v, v.capitalize(), shown.link(view=v)) for v in calendar.VIEWS],
        "by_urls": [(b, label, shown.link(by=b)) for b, label in COLUMN_CHOICES],
    }


@staff_view(Perm.VIEW_PATIENT_LIST)
def calendar_page(request: StaffRequest) -> HttpResponse:
    clinic = request.clinic
    form = CalendarQuery(request.GET, clinic=clinic)
    if not form.is_valid():
        return render(
            request, "scheduling/calendar.html", {"query": form, "grid": None}, status=400
        )
    shown = _View.asked(clinic, form.cleaned_data)
    days = calendar.days_for(shown.anchor, shown.view)
    can_schedule = has_perm(request, Perm.SCHEDULE)
    patient = shown.patient
    context = {
        "query": form,
        "grid": _calendar_grid(request, days, shown),
        "view": shown.view,
        "by": shown.by,
        "anchor": shown.anchor,
        "patient": patient,
        "can_schedule": can_schedule,
        "zone": clinic.timezone,
        "today": services.today(clinic),
        **_navigation(clinic, shown),
        "kinds": Kind.choices,
        "states": [(s.value, s.label) for s in State if s != State.CANCELLED],
        "plan_links": _plan_links(clinic, patient, days[0]) if patient and can_schedule else [],
        "free_url": reverse("scheduling:free_slots")
        + (f"?patient={patient.pk}" if patient else ""),
    }
    template = (
        "scheduling/_calendar_grid.html"
        if request.headers.get("HX-Request")
        else "scheduling/calendar.html"
    )
    return render(request, template, context)


def _calendar_url(clinic: Clinic, appointment: Appointment, by: str = "staff") -> str:
    day = _local(clinic, appointment.start).date().isoformat()
    return f"{reverse('scheduling:calendar')}?{urlencode({'date': day, 'by': by})}"


def _initial_from_query(request: StaffRequest) -> dict[str, Any]:
    """Pre-fill from the slot link: unknown or malformed values are simply left out; the
    posted form validates everything."""
    initial: dict[str, Any] = {}
    raw = request.GET.get("start", "")
    try:
        initial["start"] = datetime.fromisoformat(raw).replace(tzinfo=None, second=0)
    except (ValueError, OverflowError):
        pass
    for name in ("staff", "room", "chair", "patient"):
        try:
            found = optional_id(request.GET.get(name) or None, name)
        except BadParameter:
            continue
        if found is not None:
            initial[name] = found
    if request.GET.get("kind") in Kind.values:
        initial["kind"] = request.GET["kind"]
    return initial


@staff_view(Perm.SCHEDULE)
@require_http_methods(["GET", "POST"])
def calendar_book(request: StaffRequest) -> HttpResponse:
    clinic = request.clinic
    if request.method == "GET":
        form = CalendarBookForm(clinic=clinic, initial=_initial_from_query(request))
        return render(request, "scheduling/calendar_book.html", {"form": form})
    form = CalendarBookForm(request.POST, clinic=clinic)
    if form.is_valid():
        data = form.cleaned_data
        patient = get_patient_for_edit(request, data["patient"].pk, Perm.SCHEDULE)
        start = as_clinic_time(clinic, data["start"])
        slot = services.Slot(
            data["staff"],
            start,
            services.default_end(clinic, data["kind"], start),
            data["room"],
            data["chair"],
        )
        try:
            appointment = services.book(
                patient=patient,
                kind=data["kind"],
                slot=slot,
                by=request.user,
                note=data["note"],
                past_reason=data["past_reason"],
                request=request,
            )
        except services.ScheduleConflict as exc:
            form.add_error(None, f"Not booked: {exc}")
        else:
            local = _local(clinic, appointment.start)
            messages.success(
                request,
                f"Booked: {appointment.get_kind_display()} for {patient.full_name} on "
                f"{local:%A %d %B} at {local:%H:%M}.",
            )
            return redirect(_calendar_url(clinic, appointment) + f"&patient={patient.pk}")
    return render(request, "scheduling/calendar_book.html", {"form": form}, status=400)


def _appointment_context(request: StaffRequest, appointment: Appointment) -> dict[str, Any]:
    clinic = request.clinic
    can_schedule = has_perm(request, Perm.SCHEDULE)
    found = undo.available(appointment) if can_schedule else None
    actions = []
    if can_schedule:
        for value, label in StateForm.base_fields["state"].choices:  # type: ignore[attr-defined]
            if appointment.state in services.TRANSITIONS[State(value)]:
                actions.append((value, label))
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "start": _local(clinic, appointment.start),
        "end": _local(clinic, appointment.end),
        "zone": clinic.timezone,
        "can_schedule": can_schedule,
        "can_move": can_schedule and appointment.state in (State.BOOKED, State.CONFIRMED),
        "actions": actions,
        "undo": found,
        "undo_until": _local(clinic, found.until) if found else None,
        "calendar_url": _calendar_url(clinic, appointment),
    }


@staff_view(Perm.VIEW_PATIENT_LIST)
def appointment_page(request: StaffRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for_edit(request, appointment_id)
    audit.record_view(
        request, patient_id=appointment.patient_id, obj=appointment, section="appointment"
    )
    return render(
        request, "scheduling/appointment.html", _appointment_context(request, appointment)
    )


CONFIRM = {
    State.CANCELLED: "Yes, cancel this appointment",
    State.COMPLETED: "Yes, mark it completed",
}


@staff_view(Perm.SCHEDULE)
@require_POST
def set_state(request: StaffRequest, appointment_id: int) -> HttpResponse:
    """A state change from the appointment's page; cancelling and completing first show a
    confirmation step (a plain form, so it works without scripts)."""
    appointment = get_appointment_for_edit(request, appointment_id)
    form = StateForm(request.POST)
    context = _appointment_context(request, appointment)
    if not form.is_valid():
        return render(
            request, "scheduling/appointment.html", {**context, "state_form": form}, status=400
        )
    target = State(form.cleaned_data["state"])
    reason = form.cleaned_data["reason"]
    problems = services.state_problems(appointment, target, reason)
    if not problems and target in CONFIRM and request.POST.get("confirmed") != "yes":
        return render(
            request,
            "scheduling/confirm_state.html",
            {**context, "target": target, "reason": reason, "confirm_label": CONFIRM[target]},
        )
    if not problems:
        try:
            services.set_state(
                appointment=appointment,
                state=target,
                by=request.user,
                reason=reason,
                request=request,
            )
        except services.ScheduleConflict as exc:
            problems = exc.reasons
    if problems:
        form.add_error("state", "; ".join(problems))
        return render(
            request, "scheduling/appointment.html", {**context, "state_form": form}, status=400
        )
    messages.success(request, f"{target.label}.")
    return redirect("scheduling:appointment", appointment.pk)


@staff_view(Perm.SCHEDULE)
@require_POST
def undo_state(request: StaffRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for_edit(request, appointment_id)
    try:
        restored = undo.undo(appointment=appointment, by=request.user, request=request)
    except services.ScheduleConflict as exc:
        context = _appointment_context(request, appointment)
        return render(
            request,
            "scheduling/appointment.html",
            {**context, "undo_error": f"Not undone: {exc}"},
            status=409,
        )
    messages.success(request, f"Undone: the appointment is {restored.get_state_display()} again.")
    return redirect("scheduling:appointment", appointment.pk)


def _move_initial(request: StaffRequest, appointment: Appointment) -> dict[str, Any]:
    """The appointment's own slot, or the one it was dragged to."""
    initial: dict[str, Any] = {
        "start": _local(request.clinic, appointment.start).replace(tzinfo=None),
        "staff": appointment.staff_id,
        "room": appointment.room_id,
        "chair": appointment.chair_id,
    }
    dropped = _initial_from_query(request)
    if dropped.get("start"):
        initial["start"] = dropped["start"]
        for name in ("staff", "room", "chair"):
            if name in dropped:
                initial[name] = dropped[name]
    return initial


def _moved_slot(clinic: Clinic, appointment: Appointment, data: dict[str, Any]) -> services.Slot:
    """The slot chosen in the form, as long as the appointment was."""
    start = as_clinic_time(clinic, data["start"])
    return services.Slot(
        data["staff"],
        start,
        start + (appointment.end - appointment.start),
        data["room"],
        data["chair"],
    )


@staff_view(Perm.SCHEDULE)
@require_http_methods(["GET", "POST"])
def move(request: StaffRequest, appointment_id: int) -> HttpResponse:
    """Move to another time, clinician, room or chair: the same checks and reasons as booking.
    A dragged appointment arrives here with the target slot in the query string."""
    clinic = request.clinic
    appointment = get_appointment_for_edit(request, appointment_id)
    initial = _move_initial(request, appointment)
    form = MoveForm(request.POST or None, clinic=clinic, initial=initial)
    context = {"form": form, **_appointment_context(request, appointment)}
    if request.method == "GET":
        return render(request, "scheduling/move.html", context)
    if form.is_valid():
        try:
            moved = services.reschedule(
                appointment=appointment,
                slot=_moved_slot(clinic, appointment, form.cleaned_data),
                by=request.user,
                past_reason=form.cleaned_data["past_reason"],
                request=request,
            )
        except services.ScheduleConflict as exc:
            form.add_error(None, f"Not moved: {exc}")
        else:
            local = _local(clinic, moved.start)
            messages.success(request, f"Moved to {local:%A %d %B} at {local:%H:%M}.")
            return redirect(_calendar_url(clinic, moved))
    return render(request, "scheduling/move.html", context, status=400)


@staff_view(Perm.SCHEDULE)
def free_slots(request: StaffRequest) -> HttpResponse:
    clinic = request.clinic
    carried = request.GET.get("patient", "")
    form = FreeSlotForm(
        request.GET if "kind" in request.GET else None,
        clinic=clinic,
        initial={"patient": carried} if carried.isascii() and carried.isdigit() else {},
    )
    context: dict[str, Any] = {"form": form, "slots": None, "zone": clinic.timezone}
    if not form.is_bound:
        return render(request, "scheduling/free_slots.html", context)
    if not form.is_valid():
        return render(request, "scheduling/free_slots.html", context, status=400)
    data = form.cleaned_data
    context["slots"] = find_free(
        clinic=clinic,
        kind=data["kind"],
        staff=data["staff"],
        start_on=data["start_on"],
        count=data["count"] or 10,
    )
    patient = data["patient"]
    book_url = reverse("scheduling:calendar_book")
    for slot in context["slots"]:
        params: dict[str, Any] = {
            "start": slot["start"].strftime("%Y-%m-%dT%H:%M"),
            "staff": slot["staff"].pk,
            "kind": data["kind"],
        }
        if slot["chair"] is not None:
            params["chair"] = slot["chair"].pk
        if slot["room"] is not None:
            params["room"] = slot["room"].pk
        if patient is not None:
            params["patient"] = patient.pk
        slot["book_url"] = f"{book_url}?{urlencode(params)}"
    return render(request, "scheduling/free_slots.html", context)


SEARCH_DAYS = 28
MAX_CHECKS = 120


def _places(clinic: Clinic, kind: str) -> list[Chair] | list[Room]:
    """Chairs for a dosing visit; otherwise rooms without chairs (any room when all have)."""
    if kind == Kind.DOSING:
        return list(Chair.objects.filter(clinic=clinic, is_active=True))
    chaired = set(Chair.objects.filter(clinic=clinic).values_list("room_id", flat=True))
    rooms = list(Room.objects.filter(clinic=clinic, is_active=True))
    return [r for r in rooms if r.pk not in chaired] or rooms


def _busy(
    clinic: Clinic, kind: str, window: tuple[datetime, datetime]
) -> tuple[dict[int, list[calendar.Interval]], dict[int, list[calendar.Interval]]]:
    """The live appointments in `window`, by staff member and by the place `kind` uses."""
    busy = (
        Appointment.objects.for_clinic(clinic)
        .live()
        .filter(start__lt=window[1], end__gt=window[0])
        .values_list("staff_id", "chair_id", "room_id", "start", "end")
    )
    busy_staff: dict[int, list[calendar.Interval]] = {}
    busy_places: dict[int, list[calendar.Interval]] = {}
    for staff_id, chair_id, room_id, begins, ends in busy:
        busy_staff.setdefault(staff_id, []).append((begins, ends))
        place_id = chair_id if kind == Kind.DOSING else room_id
        if place_id is not None:
            busy_places.setdefault(place_id, []).append((begins, ends))
    return busy_staff, busy_places


def _confirmed(
    clinic: Clinic,
    kind: str,
    candidates: Iterable[calendar.FreeSlot],
    people: list[User],
    places: list[Chair] | list[Room],
    count: int,
) -> list[dict[str, Any]]:
    """The first `count` candidates the booking checks accept, one per start time."""
    tz = clinic_tz(clinic)
    by_pk = {p.pk: p for p in people}
    place_by_pk: dict[int, Chair | Room] = {p.pk: p for p in places}
    found: list[dict[str, Any]] = []
    offered: set[datetime] = set()
    for checks, candidate in enumerate(candidates):
        if len(found) >= count or checks >= MAX_CHECKS:
            break
        if candidate.start in offered:
            continue  # one offer per start time: the first person the checks accept
        place = place_by_pk.get(candidate.place) if candidate.place is not None else None
        chair = place if isinstance(place, Chair) else None
        room = place if isinstance(place, Room) else None
        slot = services.Slot(by_pk[candidate.staff], candidate.start, candidate.end, room, chair)
        if services.conflicts(clinic, slot, kind=kind):
            continue
        offered.add(candidate.start)
        found.append(
            {
                "start": candidate.start.astimezone(tz),
                "end": candidate.end.astimezone(tz),
                "staff": slot.staff,
                "chair": chair,
                "room": room,
            }
        )
    return found


def _grid_starts(
    clinic: Clinic, first_day: date, duration: timedelta, now: datetime
) -> Iterator[datetime]:
    """Every start on the booking grid in the search window, inside opening hours."""
    return calendar.candidate_starts(
        days=[first_day + timedelta(days=i) for i in range(SEARCH_DAYS)],
        hours=clinic_hours(clinic),
        tz=clinic_tz(clinic),
        duration=duration,
        slot_minutes=SLOT_MINUTES.value(clinic),
        not_before=now,
    )


def find_free(
    *,
    clinic: Clinic,
    kind: str,
    staff: User | None,
    start_on: date | None,
    count: int,
    not_before: datetime | None = None,
    people: list[User] | None = None,
) -> list[dict[str, Any]]:
    """The next `count` slots for a visit of `kind`: laid out on the booking grid inside
    opening hours, clear of other appointments, then confirmed with the booking checks
    themselves (working hours, leave) so every slot offered can be booked. `not_before`
    (default now) holds back a notice period; `people` limits who may see the patient."""
    tz = clinic_tz(clinic)
    now = max(not_before or timezone.now(), timezone.now())
    first_day = max(start_on or services.today(clinic), now.astimezone(tz).date())
    duration = services.default_end(clinic, kind, now) - now
    if people is None:
        people = [staff] if staff is not None else _clinicians(clinic)
    places = _places(clinic, kind)
    busy_staff, busy_places = _busy(
        clinic, kind, services.next_days(clinic, first_day, SEARCH_DAYS)
    )
    if kind == Kind.DOSING and not places:
        return []
    candidates = calendar.free_slots(
        starts=_grid_starts(clinic, first_day, duration, now),
        duration=duration,
        staff=[p.pk for p in people],
        places=[p.pk for p in places] if places else None,
        busy_staff=busy_staff,
        busy_places=busy_places,
    )
    return _confirmed(clinic, kind, candidates, people, places, count)
