"""Pages for places and hours: rooms and chairs, opening hours, closures, staff working hours
and leave. Clinic admins change them; every staff member sees their own hours and leave."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.accounts.models import User
from katclinic.clinics.access import deny, get_in_clinic, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Perm
from katclinic.scheduling import places
from katclinic.scheduling.hours import clinic_hours, clinic_tz
from katclinic.scheduling.models import Chair, ClinicClosure, Room, StaffLeave

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---- forms --------------------------------------------------------------------------------


class ConfirmMixin(forms.Form):
    """Carries the appointments the person was shown and agreed to leave stranded."""

    confirmed = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def clean_confirmed(self) -> list[int]:
        raw = self.cleaned_data.get("confirmed") or ""
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("The confirmation was not understood.") from None


class RoomForm(ConfirmMixin):
    name = forms.CharField(max_length=100)
    is_active = forms.BooleanField(label="In service", required=False, initial=True)

    def __init__(self, *args: Any, rooms: Any, current: Room | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.rooms, self.current = rooms, current

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the room a name.")
        taken = self.rooms.filter(name__iexact=name)
        if self.current is not None:
            taken = taken.exclude(pk=self.current.pk)
        if taken.exists():
            raise forms.ValidationError("Another room already has this name.")
        return name


class ChairForm(ConfirmMixin):
    room = forms.ModelChoiceField(queryset=Room.objects.none())
    name = forms.CharField(max_length=100)
    supports_iv = forms.BooleanField(label="Equipped for IV infusion", required=False)
    supports_intranasal = forms.BooleanField(label="Equipped for intranasal", required=False)
    supports_oral = forms.BooleanField(label="Equipped for oral or sublingual", required=False)
    supports_im = forms.BooleanField(
        label="Equipped for intramuscular or subcutaneous injection", required=False
    )
    is_active = forms.BooleanField(label="In service", required=False, initial=True)

    def __init__(self, *args: Any, chairs: Any, rooms: Any, current: Chair | None, **kw: Any):
        super().__init__(*args, **kw)
        self.chairs, self.current = chairs, current
        cast(forms.ModelChoiceField, self.fields["room"]).queryset = rooms

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the chair a name.")
        taken = self.chairs.filter(name__iexact=name)
        if self.current is not None:
            taken = taken.exclude(pk=self.current.pk)
        if taken.exists():
            raise forms.ValidationError("Another chair already has this name.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f) for f in places.CHAIR_FLAGS):
            self.add_error("supports_iv", "Tick at least one kind of dosing this chair can hold.")
        room = data.get("room")
        if room is not None and not room.is_active and data.get("is_active"):
            self.add_error("room", "This room is retired; bring the room back into service first.")
        return data


class WeekForm(ConfirmMixin):
    """Opening or working hours: a start and an end for each day, both empty on a day off."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        widget = {"type": "time"}
        for key, name in zip(DAY_KEYS, DAY_NAMES, strict=True):
            self.fields[f"{key}_opens"] = forms.TimeField(
                label=f"{name} from", required=False, widget=forms.TimeInput(widget, "%H:%M")
            )
            self.fields[f"{key}_closes"] = forms.TimeField(
                label=f"{name} until", required=False, widget=forms.TimeInput(widget, "%H:%M")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for key, name in zip(DAY_KEYS, DAY_NAMES, strict=True):
            opens, closes = data.get(f"{key}_opens"), data.get(f"{key}_closes")
            if f"{key}_opens" in self.errors or f"{key}_closes" in self.errors:
                continue
            if (opens is None) != (closes is None):
                missing = f"{key}_closes" if closes is None else f"{key}_opens"
                self.add_error(missing, f"Give both times for {name}, or neither for a day off.")
            elif opens is not None and closes is not None and opens >= closes:
                self.add_error(f"{key}_closes", f"{name} must end after it starts.")
        return data

    def hours(self) -> dict[int, tuple[time, time]]:
        data = self.cleaned_data
        return {
            day: (data[f"{key}_opens"], data[f"{key}_closes"])
            for day, key in enumerate(DAY_KEYS)
            if data.get(f"{key}_opens") is not None
        }

    @staticmethod
    def initial_for(hours: Mapping[int, tuple[time, time]]) -> dict[str, time]:
        initial = {}
        for day, (opens, closes) in hours.items():
            initial[f"{DAY_KEYS[day]}_opens"] = opens
            initial[f"{DAY_KEYS[day]}_closes"] = closes
        return initial

    def days(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (name, self[f"{key}_opens"], self[f"{key}_closes"])
            for key, name in zip(DAY_KEYS, DAY_NAMES, strict=True)
        ]


class DatesForm(ConfirmMixin):
    starts_on = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("starts_on"), data.get("ends_on")
        if first and last and last < first:
            self.add_error("ends_on", "The last day cannot be before the first day.")
        elif first and last and (last - first).days > 366:
            self.add_error("ends_on", "Enter at most a year at a time.")
        return data


class ClosureForm(DatesForm):
    reason = forms.CharField(max_length=200, help_text="For example: public holiday.")

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give a reason for the closure.")
        return reason


class LeaveForm(DatesForm):
    note = forms.CharField(max_length=200, required=False)


# ---- helpers ------------------------------------------------------------------------------


def _render(
    request: StaffRequest,
    template: str,
    context: dict[str, Any],
    *,
    form: forms.Form | None = None,
    stranded: places.Stranded | None = None,
) -> HttpResponse:
    context = {**context, "zone": clinic_tz(request.clinic).key}
    status = 200
    if form is not None:
        context["form"] = form
        status = 400 if form.errors else 200
    if stranded is not None and form is not None:
        context["stranded"] = stranded.appointments
        data = form.data.copy()  # type: ignore[attr-defined]
        data["confirmed"] = ",".join(str(a.pk) for a in stranded.appointments)
        form.data = data
        status = 409
    return render(request, template, context, status=status)


def _attempt(
    request: StaffRequest,
    form: forms.Form,
    change: Callable[[], object],
    template: str,
    context: dict[str, Any],
    done: str,
    then: str,
    *args: Any,
) -> HttpResponse:
    """Run `change`; on Stranded show the warning with a button to confirm exactly those."""
    try:
        change()
    except places.Stranded as exc:
        return _render(request, template, context, form=form, stranded=exc)
    messages.success(request, done)
    return redirect(then, *args)


def _staff_member(request: StaffRequest, user_id: int) -> User:
    member = (
        StaffMembership.objects.filter(clinic=request.clinic, user_id=user_id)
        .select_related("user")
        .first()
    )
    if member is None:
        deny(request, reason="no such staff member in the active clinic", not_found=True)
    return member.user


# ---- rooms and chairs ---------------------------------------------------------------------


@staff_view(Perm.MANAGE_CLINIC)
def place_list(request: StaffRequest) -> HttpResponse:
    rooms = Room.objects.filter(clinic=request.clinic).prefetch_related("chairs")
    return render(request, "scheduling/places/list.html", {"rooms": rooms})


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def room_edit(request: StaffRequest, room_id: int | None = None) -> HttpResponse:
    room = None if room_id is None else get_in_clinic(request, Room.objects, room_id, what="room")
    rooms = Room.objects.filter(clinic=request.clinic)
    initial = {"name": room.name, "is_active": room.is_active} if room else {"is_active": True}
    form = RoomForm(request.POST or None, rooms=rooms, current=room, initial=initial)
    title = f"Room {room.name}" if room else "Add a room"
    context = {"title": title, "room": room}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        return _attempt(
            request,
            form,
            lambda: places.save_room(
                clinic=request.clinic,
                by=request.user,
                name=data["name"],
                is_active=data["is_active"],
                room=room,
                confirmed=data["confirmed"],
                request=request,
            ),
            "scheduling/places/form.html",
            context,
            "Room saved.",
            "scheduling:places",
        )
    return _render(request, "scheduling/places/form.html", context, form=form)


def _chair_form(request: StaffRequest, chair: Chair | None) -> ChairForm:
    """The chair's form: rooms in service (and the chair's own room), its current values."""
    rooms = Room.objects.filter(clinic=request.clinic, is_active=True)
    if chair is not None:
        rooms = Room.objects.filter(clinic=request.clinic).filter(
            pk__in=[*rooms.values_list("pk", flat=True), chair.room_id]
        )
        initial: dict[str, Any] = {
            "room": chair.room_id,
            "name": chair.name,
            "is_active": chair.is_active,
            **{f: getattr(chair, f) for f in places.CHAIR_FLAGS},
        }
    else:
        initial = {"is_active": True, "room": request.GET.get("room")}
    return ChairForm(
        request.POST or None,
        chairs=Chair.objects.filter(clinic=request.clinic),
        rooms=rooms,
        current=chair,
        initial=initial,
    )


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def chair_edit(request: StaffRequest, chair_id: int | None = None) -> HttpResponse:
    chair = (
        None if chair_id is None else get_in_clinic(request, Chair.objects, chair_id, what="chair")
    )
    form = _chair_form(request, chair)
    title = str(chair) if chair else "Add a chair"
    context = {"title": title, "chair": chair}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        return _attempt(
            request,
            form,
            lambda: places.save_chair(
                clinic=request.clinic,
                by=request.user,
                room=data["room"],
                name=data["name"],
                supports=[f for f in places.CHAIR_FLAGS if data[f]],
                is_active=data["is_active"],
                chair=chair,
                confirmed=data["confirmed"],
                request=request,
            ),
            "scheduling/places/form.html",
            context,
            "Chair saved.",
            "scheduling:places",
        )
    return _render(request, "scheduling/places/form.html", context, form=form)


# ---- opening hours and closures -----------------------------------------------------------


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def opening_hours(request: StaffRequest) -> HttpResponse:
    form = WeekForm(
        request.POST or None, initial=WeekForm.initial_for(clinic_hours(request.clinic))
    )
    context = {"title": "Opening hours", "week": True}
    if request.method == "POST" and form.is_valid():
        return _attempt(
            request,
            form,
            lambda: places.change_opening_hours(
                clinic=request.clinic,
                hours=form.hours(),
                by=request.user,
                confirmed=form.cleaned_data["confirmed"],
                request=request,
            ),
            "scheduling/places/form.html",
            context,
            "Opening hours saved.",
            "scheduling:opening_hours",
        )
    return _render(request, "scheduling/places/form.html", context, form=form)


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def closures(request: StaffRequest) -> HttpResponse:
    form = ClosureForm(request.POST or None)
    rows = ClinicClosure.objects.filter(clinic=request.clinic).order_by("-starts_on")[:200]
    context = {"closures": rows}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        return _attempt(
            request,
            form,
            lambda: places.add_closure(
                clinic=request.clinic,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
                by=request.user,
                confirmed=data["confirmed"],
                request=request,
            ),
            "scheduling/places/closures.html",
            context,
            "Closure added.",
            "scheduling:closures",
        )
    return _render(request, "scheduling/places/closures.html", context, form=form)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def closure_remove(request: StaffRequest, closure_id: int) -> HttpResponse:
    closure = get_in_clinic(request, ClinicClosure.objects, closure_id, what="closure")
    places.remove_closure(closure=closure, by=request.user, request=request)
    messages.success(request, "Closure removed; the clinic is open on those days again.")
    return redirect("scheduling:closures")


# ---- staff working hours and leave --------------------------------------------------------


def _hours_context(request: StaffRequest, person: User) -> dict[str, Any]:
    hours = places.working_hours(request.clinic, person)
    return {
        "person": person,
        "hours": [(DAY_NAMES[d], hours.get(d)) for d in range(7)],
        "leave": StaffLeave.objects.filter(clinic=request.clinic, staff=person).order_by(
            "-starts_on"
        )[:100],
    }


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def staff_hours(request: StaffRequest, user_id: int) -> HttpResponse:
    person = _staff_member(request, user_id)
    current = places.working_hours(request.clinic, person)
    form = WeekForm(request.POST or None, initial=WeekForm.initial_for(current))
    context = {**_hours_context(request, person), "leave_form": LeaveForm()}
    if request.method == "POST" and form.is_valid():
        return _attempt(
            request,
            form,
            lambda: places.set_working_hours(
                clinic=request.clinic,
                staff=person,
                hours=form.hours(),
                by=request.user,
                confirmed=form.cleaned_data["confirmed"],
                request=request,
            ),
            "scheduling/places/staff_hours.html",
            context,
            "Working hours saved.",
            "scheduling:staff_hours",
            person.pk,
        )
    return _render(request, "scheduling/places/staff_hours.html", context, form=form)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def leave_add(request: StaffRequest, user_id: int) -> HttpResponse:
    person = _staff_member(request, user_id)
    form = LeaveForm(request.POST)
    context = {
        **_hours_context(request, person),
        "leave_form": form,
        "form": WeekForm(
            initial=WeekForm.initial_for(places.working_hours(request.clinic, person))
        ),
    }
    if form.is_valid():
        data = form.cleaned_data
        try:
            places.add_leave(
                clinic=request.clinic,
                staff=person,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                note=data["note"],
                by=request.user,
                confirmed=data["confirmed"],
                request=request,
            )
        except places.Stranded as exc:
            return _leave_stranded(request, context, form, exc)
        messages.success(request, "Leave recorded.")
        return redirect("scheduling:staff_hours", person.pk)
    return render(request, "scheduling/places/staff_hours.html", context, status=400)


def _leave_stranded(
    request: StaffRequest, context: dict[str, Any], form: LeaveForm, exc: places.Stranded
) -> HttpResponse:
    data = form.data.copy()  # type: ignore[attr-defined]
    data["confirmed"] = ",".join(str(a.pk) for a in exc.appointments)
    form.data = data
    context = {**context, "leave_stranded": exc.appointments, "zone": clinic_tz(request.clinic).key}
    return render(request, "scheduling/places/staff_hours.html", context, status=409)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def leave_remove(request: StaffRequest, leave_id: int) -> HttpResponse:
    leave = get_in_clinic(request, StaffLeave.objects, leave_id, what="leave")
    places.remove_leave(leave=leave, by=request.user, request=request)
    messages.success(request, "Leave removed.")
    return redirect("scheduling:staff_hours", leave.staff_id)


@staff_view(Perm.VIEW_PATIENT_LIST)
def my_hours(request: StaffRequest) -> HttpResponse:
    context = {**_hours_context(request, request.user), "own": True}
    return render(request, "scheduling/places/staff_hours.html", context)
