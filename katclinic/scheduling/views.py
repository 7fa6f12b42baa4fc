from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.access import (
    get_in_clinic,
    get_patient_for_edit,
    get_patient_for_user,
    has_perm,
    staff_view,
)
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.lib.parse import optional_date
from katclinic.patients.views import chart_tabs
from katclinic.protocols.models import Plan
from katclinic.protocols.scheduling import ScheduleError
from katclinic.scheduling import ical, services
from katclinic.scheduling.access import get_appointment_for_edit
from katclinic.scheduling.calendar_views import set_state
from katclinic.scheduling.clinic_settings import FRONT_DESK_EMAIL, ONLINE_REQUESTS
from katclinic.scheduling.forms import (
    BookForm,
    ProposeForm,
    RequestForm,
    SlotForm,
    StateForm,
    add_conflict_errors,
)
from katclinic.scheduling.hours import as_clinic_time, clinic_tz
from katclinic.scheduling.models import (
    Appointment,
    AppointmentRequest,
    CalendarFeed,
    InboundText,
    Reminder,
    ReminderState,
)


@staff_view(Perm.VIEW_PATIENT_LIST)
def day(request: StaffRequest) -> HttpResponse:
    chosen = optional_date(request.GET.get("day"), "day") or services.today(request.clinic)
    start, end = services.next_days(request.clinic, chosen, 1)
    appointments = (
        Appointment.objects.for_clinic(request.clinic)
        .filter(start__gte=start, start__lt=end)
        .select_related("patient", "staff", "room", "chair__room")
        .order_by("start", "pk")
    )
    return render(request, "scheduling/day.html", {"appointments": appointments, "day": chosen})


# What the chart's Appointments table prints of each appointment.
SHOWN_COLUMNS = (
    "pk",
    "kind",
    "start",
    "state",
    "cancel_reason",
    "staff__full_name",
    "room__name",
    "chair__name",
    "chair__room__name",
)


@staff_view(Perm.VIEW_DEMOGRAPHICS)
def patient_appointments(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_user(request, patient_id)
    audit.record_view(request, patient_id=patient.pk, obj=patient, section="appointments")
    # Only the columns the table shows (not the users' password hashes or the notes).
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .select_related("staff", "room", "chair__room")
        .only(*SHOWN_COLUMNS)
        .order_by("-start")
    )
    can_schedule = has_perm(request, Perm.SCHEDULE)
    # The plans' links are shown only to those who schedule; the title is all they need
    # of the protocol (not its whole document).
    plans = (
        list(
            Plan.objects.filter(patient=patient, status="active")
            .select_related("protocol_version")
            .only("pk", "protocol_version__title")
        )
        if can_schedule
        else []
    )
    context = {
        "patient": patient,
        "tabs": chart_tabs(request, patient, "appointments"),
        "appointments": appointments,
        "plans": plans,
        "can_schedule": can_schedule,
        "form": BookForm(clinic=request.clinic),
    }
    return render(request, "scheduling/patient.html", context)


@staff_view(Perm.SCHEDULE)
@require_POST
def book(request: StaffRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_edit(request, patient_id, Perm.SCHEDULE)
    form = BookForm(request.POST, clinic=request.clinic)
    if form.is_valid():
        data = form.cleaned_data
        start = as_clinic_time(request.clinic, data["start"])
        slot = services.Slot(
            data["staff"],
            start,
            services.default_end(request.clinic, data["kind"], start),
            data["room"],
            data["chair"],
        )
        try:
            services.book(
                patient=patient,
                kind=data["kind"],
                slot=slot,
                by=request.user,
                note=data["note"],
                route=data["route"] or services.route_for_patient(patient),
                past_reason=data["past_reason"],
                request=request,
            )
        except services.ScheduleConflict as exc:
            add_conflict_errors(form, exc, "Not booked")
        else:
            messages.success(request, "Booked.")
            return redirect("scheduling:patient_appointments", patient.pk)
    return render(
        request,
        "scheduling/form.html",
        {"form": form, "title": "Book an appointment", "patient": patient},
        status=400,
    )


@staff_view(Perm.SCHEDULE)
@require_POST
def change_state(request: StaffRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for_edit(request, appointment_id)
    form = StateForm(request.POST)
    if (
        form.is_valid()
        and form.cleaned_data["state"] in ("cancelled", "completed")
        and request.POST.get("confirmed") != "yes"
        and not services.state_problems(
            appointment, services.State(form.cleaned_data["state"]), form.cleaned_data["reason"]
        )
    ):
        # Cancelling and completing are confirmed first, on the appointment's own page.
        return set_state(request, appointment_id)
    if form.is_valid():
        try:
            services.set_state(
                appointment=appointment,
                state=form.cleaned_data["state"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except services.ScheduleConflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Appointment updated.")
            return redirect("scheduling:patient_appointments", appointment.patient_id)
    return render(
        request,
        "scheduling/form.html",
        {"form": form, "title": "Change appointment", "patient": appointment.patient},
        status=400,
    )


@staff_view(Perm.SCHEDULE)
@require_http_methods(["GET", "POST"])
def reschedule(request: StaffRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for_edit(request, appointment_id)
    local = appointment.start.astimezone(clinic_tz(request.clinic)).replace(tzinfo=None)
    initial = {
        "start": local,
        "staff": appointment.staff_id,
        "room": appointment.room_id,
        "chair": appointment.chair_id,
    }
    form = SlotForm(request.POST or None, clinic=request.clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        start = as_clinic_time(request.clinic, data["start"])
        slot = services.Slot(
            data["staff"],
            start,
            start + (appointment.end - appointment.start),
            data["room"],
            data["chair"],
        )
        try:
            services.reschedule(
                appointment=appointment, slot=slot, by=request.user, request=request
            )
        except services.ScheduleConflict as exc:
            add_conflict_errors(form, exc, "Not moved")
        else:
            messages.success(request, "Moved.")
            return redirect("scheduling:patient_appointments", appointment.patient_id)
    return render(
        request,
        "scheduling/form.html",
        {"form": form, "title": "Move appointment", "patient": appointment.patient},
        status=400 if form.errors else 200,
    )


def _plan_calendar_url(clinic: Clinic, plan: Plan, booked: list[Appointment]) -> str:
    """The calendar week of the first visit just booked, to see them in place."""
    if not booked:
        return reverse("scheduling:patient_appointments", args=[plan.patient_id])
    first = min(a.start for a in booked).astimezone(clinic_tz(clinic)).date()
    return f"{reverse('scheduling:calendar')}?date={first.isoformat()}"


@staff_view(Perm.SCHEDULE)
@require_http_methods(["GET", "POST"])
def plan_schedule(request: StaffRequest, plan_id: int) -> HttpResponse:
    related = Plan.objects.select_related("patient", "protocol_version")
    plan = get_in_clinic(request, related, plan_id, what="plan")
    audit.record_view(request, patient_id=plan.patient_id, obj=plan, section="plan schedule")
    initial = {
        "staff": plan.patient.responsible_clinician_id,
        "start_on": services.today(request.clinic),
    }
    form = ProposeForm(request.POST or request.GET or None, clinic=request.clinic, initial=initial)
    rows: list[services.ProposedRow] = []
    status = 200
    if form.is_bound and form.is_valid():
        try:
            rows = services.propose_for_plan(
                plan=plan, staff=form.cleaned_data["staff"], start_on=form.cleaned_data["start_on"]
            )
            if request.method == "POST":
                booked = services.book_plan_schedule(
                    plan=plan, rows=rows, by=request.user, request=request
                )
                messages.success(request, f"Booked {len(booked)} appointments.")
                return redirect(_plan_calendar_url(request.clinic, plan, booked))
        except services.ScheduleConflict as exc:
            for reason in exc.reasons:
                form.add_error(None, f"Not booked: {reason}")
            status = 400
        except ScheduleError as exc:
            form.add_error(None, f"Not booked: {exc}")
            status = 400
    context = {"form": form, "rows": rows, "plan": plan, "patient": plan.patient}
    return render(request, "scheduling/plan_schedule.html", context, status=status)


@staff_view(Perm.SCHEDULE)
def failed_reminders(request: StaffRequest) -> HttpResponse:
    reminders = list(
        Reminder.objects.filter(clinic=request.clinic)
        .filter(state__in=[ReminderState.FAILED, ReminderState.PENDING], attempts__gt=0)
        .select_related("appointment__patient")
        .order_by("-next_attempt_at")[:200]
    )
    texts = list(InboundText.objects.filter(clinic=request.clinic).select_related("patient")[:100])
    audit.record_list(
        request=request,
        patient_ids=[r.appointment.patient_id for r in reminders] + [t.patient_id for t in texts],
        what="reminders and texts from patients",
    )
    context = {"reminders": reminders, "texts": texts}
    return render(request, "scheduling/failed_reminders.html", context)


@staff_view(Perm.VIEW_PATIENT_LIST)
@require_http_methods(["GET", "POST"])
def calendar_feed(request: StaffRequest) -> HttpResponse:
    url = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        ical.revoke_feeds(clinic=request.clinic, staff=request.user, request=request)
        messages.success(request, "Your calendar link no longer works.")
        return redirect("scheduling:calendar_feed")
    if request.method == "POST":
        token = ical.issue_feed(clinic=request.clinic, staff=request.user, request=request)
        url = request.build_absolute_uri(f"/scheduling/calendar/{token}.ics")
    active = CalendarFeed.objects.filter(
        clinic=request.clinic, staff=request.user, revoked_at__isnull=True
    ).first()
    return render(request, "scheduling/calendar_feed.html", {"url": url, "active": active})


def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Public but secret: the token is the only credential, and the feed names no patient."""
    feed = ical.feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar")
    return HttpResponse(ical.render(feed), content_type="text/calendar; charset=utf-8")


@require_http_methods(["GET", "POST"])
def request_slot(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    clinic = Clinic.objects.filter(slug=clinic_slug).first()
    if clinic is None or not ONLINE_REQUESTS.value(clinic):
        raise Http404("Online requests are not offered here")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _store_request(clinic, form.cleaned_data)
        return render(request, "scheduling/request_done.html", {"clinic": clinic})
    return render(
        request,
        "scheduling/request.html",
        {"form": form, "clinic": clinic},
        status=400 if form.errors else 200,
    )


@transaction.atomic
def _store_request(clinic: Clinic, data: dict[str, Any]) -> AppointmentRequest:
    row = AppointmentRequest.objects.create(clinic=clinic, **data)
    audit.record(
        request=None, action=Action.CREATE, clinic_id=clinic.pk, obj=row, detail={"online": True}
    )
    to = FRONT_DESK_EMAIL.value(clinic).strip() or clinic.email
    if to:
        # No personal details in the email: front desk reads the request signed in.
        transaction.on_commit(
            lambda: send_mail(
                f"New consultation request at {clinic.name}",
                "A consultation request is waiting in KAT Clinic under Scheduling > Requests.",
                None,
                [to],
            )
        )
    return row


@staff_view(Perm.SCHEDULE)
def requests_list(request: StaffRequest) -> HttpResponse:
    rows = AppointmentRequest.objects.filter(clinic=request.clinic)[:200]
    return render(request, "scheduling/requests.html", {"rows": rows})
