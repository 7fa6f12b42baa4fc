"""Patients booking, moving and cancelling their own visits from the portal.

The times offered come from the calendar's free-slot finder (opening hours, closures, staff
hours and leave, rooms) with the clinic's notice period held back; a dosing session is
offered only at the times the patient's signed plan proposes, and never closer to another
dose than the protocol's interval. Every booking then goes through the same booking service
as front desk's, which checks everything again under its locks, so two patients choosing one
time at once cannot both have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan, PlannedDose, PlanStatus
from katclinic.protocols.scheduling import ScheduleError
from katclinic.scheduling import clinic_settings as S
from katclinic.scheduling import services
from katclinic.scheduling.calendar_views import find_free
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment, Chair, Kind, Room, State

# Who sees the patient for each kind of visit booked online.
ROLES_FOR = {
    Kind.CONSULTATION: (Role.PRESCRIBER,),
    Kind.SCREENING: (Role.PRESCRIBER,),
    Kind.FOLLOW_UP: (Role.PRESCRIBER,),
    Kind.PREPARATION: (Role.THERAPIST,),
    Kind.INTEGRATION: (Role.THERAPIST,),
}
MAX_OFFERS = 12
MAX_AHEAD_DAYS = 366  # times further ahead are not offered online
ONLINE_NOTE = "Booked by the patient online"


class BookingRefused(ValueError):
    """The patient's booking, move or cancellation is refused; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Offer:
    kind: str
    start: datetime
    end: datetime
    staff: User
    room: Room | None = None
    chair: Chair | None = None
    plan: Plan | None = None

    def slot(self) -> services.Slot:
        return services.Slot(self.staff, self.start, self.end, self.room, self.chair)


def allowed_kinds(clinic: Clinic) -> list[str]:
    """The visit kinds the clinic lets patients book themselves, in the usual order."""
    raw = S.ONLINE_BOOKING_KINDS.value(clinic)
    named = {part.strip().lower() for part in raw.split(",")}
    return [kind for kind in Kind.values if kind in named]


def notice_hours(clinic: Clinic) -> int:
    return S.ONLINE_BOOKING_NOTICE_HOURS.value(clinic)


def cancel_hours(clinic: Clinic) -> int:
    return S.ONLINE_CANCEL_NOTICE_HOURS.value(clinic)


def earliest_start(clinic: Clinic) -> datetime:
    return timezone.now() + timedelta(hours=notice_hours(clinic))


def change_problem(appointment: Appointment) -> str | None:
    """Why the patient cannot cancel or move this visit themselves now, or None."""
    clinic = appointment.clinic
    if appointment.state not in (State.BOOKED, State.CONFIRMED):
        return _("This visit can no longer be changed online.")
    if appointment.start - timedelta(hours=cancel_hours(clinic)) < timezone.now():
        return _(
            "This visit starts in less than %(hours)s hours, so it can no longer be changed "
            "online. Please call the clinic on %(phone)s."
        ) % {"hours": cancel_hours(clinic), "phone": clinic.phone or _("its usual number")}
    return None


def _people(patient: Patient, kind: str) -> list[User]:
    roles = ROLES_FOR.get(Kind(kind), ())
    ids = set(
        StaffMembership.objects.active()
        .filter(clinic=patient.clinic, role__in=roles, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    people = list(User.objects.filter(pk__in=ids).order_by("full_name"))
    # The patient's own clinician first, when they see this kind of visit.
    return sorted(people, key=lambda u: u.pk != patient.responsible_clinician_id)


def offers(
    *, patient: Patient, kind: str, start_on: date | None, exclude: int | None = None
) -> list[Offer]:
    """The times the patient may choose for a visit of `kind`, soonest first."""
    if kind == Kind.DOSING:
        return _dosing_offers(patient, start_on, exclude)
    people = _people(patient, kind)
    if not people:
        return []
    found = find_free(
        clinic=patient.clinic,
        kind=kind,
        staff=None,
        start_on=start_on,
        count=MAX_OFFERS,
        not_before=earliest_start(patient.clinic),
        people=people,
    )
    return [Offer(kind, f["start"], f["end"], f["staff"], f["room"], f["chair"]) for f in found]


def active_plan(patient: Patient) -> Plan | None:
    """The patient's active plan with a signed current version, if exactly one."""
    plans = [
        plan
        for plan in Plan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
        .select_related("protocol_version")
        .order_by("pk")
        if plan.current_version() is not None
    ]
    return plans[0] if len(plans) == 1 else None


def _dosing_offers(patient: Patient, start_on: date | None, exclude: int | None) -> list[Offer]:
    plan = active_plan(patient)
    staff = patient.responsible_clinician
    if plan is None or staff is None:
        return []
    earliest = earliest_start(patient.clinic)
    first_day = max(start_on or earliest.date(), earliest.astimezone(clinic_tz(plan.clinic)).date())
    try:
        rows = services.propose_for_plan(plan=plan, staff=staff, start_on=first_day)
    except (ScheduleError, services.ScheduleConflict):
        return []
    found = []
    for row in rows:
        if row.kind != Kind.DOSING or row.problems or row.start < earliest:
            continue
        if interval_problems(patient=patient, plan=plan, start=row.start, exclude=exclude):
            continue
        found.append(Offer(Kind.DOSING, row.start, row.end, staff, row.room, row.chair, plan))
    return found[:MAX_OFFERS]


def interval_problems(
    *, patient: Patient, plan: Plan, start: datetime, exclude: int | None = None
) -> list[str]:
    """The protocol's spacing against the patient's other booked doses."""
    spacing = plan.protocol_version.protocol.spacing
    gap = timedelta(hours=spacing.min_interval_hours.value)
    others = list(
        Appointment.objects.filter(patient=patient, kind=Kind.DOSING)
        .live()
        .exclude(pk=exclude or 0)
        .values_list("start", flat=True)
    )
    problems = []
    if any(abs(other - start) < gap for other in others):
        problems.append(
            _("Two doses must be at least %(hours)s hours apart.")
            % {"hours": spacing.min_interval_hours.value}
        )
    tz = clinic_tz(plan.clinic)
    day = start.astimezone(tz).date()
    days = [o.astimezone(tz).date() for o in others]
    cap = spacing.max_doses_per_week.value
    for last in (day + timedelta(days=n) for n in range(7)):
        if sum(last - timedelta(days=6) <= d <= last for d in days) + 1 > cap:
            problems.append(
                _("Your plan allows at most %(count)s doses in any 7 days.") % {"count": cap}
            )
            break
    return problems


def _next_planned_dose(plan: Plan | None) -> PlannedDose | None:
    """The plan's first dose not yet booked; refused when the plan lists doses and every one
    of them is booked already."""
    version = plan.current_version() if plan is not None else None
    if version is None or not version.doses.exists():
        return None
    taken = Appointment.objects.filter(plan=plan).live().values_list("planned_dose_id", flat=True)
    found = version.doses.exclude(pk__in=[pk for pk in taken if pk]).order_by("number").first()
    if found is None:
        raise BookingRefused("kind", _("Every treatment session in your plan is already booked."))
    return found


def _chosen(patient: Patient, kind: str, start: datetime, exclude: int | None = None) -> Offer:
    if start < earliest_start(patient.clinic):
        raise BookingRefused(
            "start",
            _("Visits must be booked at least %(hours)s hours ahead.")
            % {"hours": notice_hours(patient.clinic)},
        )
    if start > timezone.now() + timedelta(days=MAX_AHEAD_DAYS):
        raise BookingRefused("start", _("Visits can be booked online up to a year ahead."))
    day = start.astimezone(clinic_tz(patient.clinic)).date()
    # A plan's proposal depends on the day it starts from: the page's list starts from the
    # first bookable day, so a dosing time is looked for there as well as from its own day.
    starts = [None, day] if kind == Kind.DOSING else [day]
    match = next(
        (
            o
            for start_on in starts
            for o in offers(patient=patient, kind=kind, start_on=start_on, exclude=exclude)
            if o.start == start
        ),
        None,
    )
    if match is None:
        if kind == Kind.DOSING:
            raise BookingRefused(
                "start", _("Treatment sessions can be booked only at the times your plan offers.")
            )
        raise BookingRefused(
            "start", _("That time is not open. Please choose one of the times shown.")
        )
    return match


def _check_kind(patient: Patient, kind: str) -> User:
    """The patient's own account, when the clinic lets them book `kind` online."""
    if kind not in allowed_kinds(patient.clinic):
        raise BookingRefused("kind", _("This kind of visit cannot be booked online."))
    if patient.user is None:
        raise BookingRefused("kind", _("Only a patient signed in to the portal can book."))
    return patient.user


@transaction.atomic
def book_own(
    *, patient: Patient, kind: str, start: datetime, request: HttpRequest | None = None
) -> Appointment:
    """Book the visit the patient chose, or raise BookingRefused saying why not."""
    user = _check_kind(patient, kind)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    offer = _chosen(patient, kind, start)
    planned = _next_planned_dose(offer.plan)
    try:
        return services.book(
            patient=patient,
            kind=kind,
            slot=offer.slot(),
            by=user,
            plan=offer.plan,
            planned_dose=planned,
            note=ONLINE_NOTE,
            request=request,
        )
    except services.ScheduleConflict:
        raise BookingRefused(
            "start", _("Someone else has just booked that time. Please choose another.")
        ) from None


@transaction.atomic
def move_own(
    *,
    patient: Patient,
    appointment: Appointment,
    start: datetime,
    request: HttpRequest | None = None,
) -> Appointment:
    """Move the patient's own visit to another offered time, inside the change window."""
    user = _check_kind(patient, appointment.kind)
    problem = change_problem(appointment)
    if problem:
        raise BookingRefused("appointment", problem)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    offer = _chosen(patient, appointment.kind, start, exclude=appointment.pk)
    try:
        return services.reschedule(
            appointment=appointment, slot=offer.slot(), by=user, request=request
        )
    except services.ScheduleConflict:
        raise BookingRefused(
            "start", _("Someone else has just booked that time. Please choose another.")
        ) from None


def cancel_own(
    *,
    patient: Patient,
    appointment: Appointment,
    reason: str = ONLINE_NOTE,
    request: HttpRequest | None = None,
) -> Appointment:
    """Cancel the patient's own visit, only while the clinic's cancellation window is open."""
    if appointment.patient_id != patient.pk:
        raise BookingRefused("appointment", _("This is not one of your visits."))
    problem = change_problem(appointment)
    if problem:
        raise BookingRefused("appointment", problem)
    return services.set_state(
        appointment=appointment,
        state=State.CANCELLED,
        by=patient.user,
        reason=reason,
        request=request,
    )
