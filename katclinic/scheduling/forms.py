from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import CLINICAL
from katclinic.patients.models import Patient
from katclinic.scheduling.models import ROUTE_LABELS, AppointmentRequest, Chair, Kind, Room
from katclinic.scheduling.services import ScheduleConflict


def staff_of(clinic: Clinic) -> QuerySet[User]:
    active = User.objects.filter(memberships__clinic=clinic, memberships__is_active=True)
    return active.distinct().order_by("full_name")


def clinicians_of(clinic: Clinic) -> QuerySet[User]:
    """Active prescribers, nurses and therapists: the people a plan's visits can be with."""
    active = User.objects.filter(
        memberships__clinic=clinic,
        memberships__is_active=True,
        memberships__role__in=sorted(CLINICAL),
    )
    return active.distinct().order_by("full_name")


def _choices(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    cast(forms.ModelChoiceField, form.fields[name]).queryset = queryset


class SlotForm(forms.Form):
    start = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    staff = forms.ModelChoiceField(queryset=User.objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", staff_of(clinic))
        _choices(self, "room", Room.objects.filter(clinic=clinic, is_active=True))
        # Each choice is labelled "room / chair": the room comes with the chair.
        chairs = Chair.objects.filter(clinic=clinic, is_active=True).select_related("room")
        _choices(self, "chair", chairs)


class BookForm(SlotForm):
    kind = forms.ChoiceField(choices=Kind.choices, label="Visit type")
    route = forms.ChoiceField(
        choices=[
            ("", "As in the patient's active plan"),
            *((code, label[:1].upper() + label[1:]) for code, label in ROUTE_LABELS.items()),
        ],
        required=False,
        label="Route (dosing sessions)",
        help_text="The chair must be equipped for it.",
    )
    note = forms.CharField(max_length=300, required=False)
    past_reason = forms.CharField(
        max_length=200,
        required=False,
        label="Reason, if the time has already passed",
        help_text="Needed only to record a visit after its time.",
    )


def add_conflict_errors(form: forms.Form, conflict: ScheduleConflict, summary: str) -> None:
    """Put each reason a booking was refused on the field it is about (start, staff, chair,
    room), and the rest with `summary` above the form."""
    general = []
    for field, reason in conflict.by_field():
        if field in form.fields:
            form.add_error(field, reason[:1].upper() + reason[1:] + ".")
        else:
            general.append(reason)
    form.add_error(None, f"{summary}: {'; '.join(general)}" if general else f"{summary}.")


# What staff can move an appointment to, as the chart's rows offer it.
STATE_CHANGES = (
    ("confirmed", "Confirm"),
    ("checked_in", "Check in"),
    ("completed", "Complete"),
    ("no_show", "No-show"),
    ("cancelled", "Cancel"),
)


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=STATE_CHANGES)
    reason = forms.CharField(max_length=500, required=False, label="Reason (required to cancel)")


class ProposeForm(forms.Form):
    staff = forms.ModelChoiceField(queryset=User.objects.none(), label="Clinician")
    start_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", clinicians_of(clinic))


class RequestForm(forms.ModelForm):
    class Meta:
        model = AppointmentRequest
        fields = ("name", "email", "phone", "preferred_times", "message")


# ---- the calendar ---------------------------------------------------------------------------

COLUMN_CHOICES = [("staff", "Clinician"), ("room", "Room"), ("chair", "Chair")]
PAST_REASON = forms.CharField(
    max_length=200,
    required=False,
    label="Reason, if the time has already passed",
    help_text="Needed only to record a visit after its time.",
)


def _patients_of(clinic: Clinic) -> QuerySet[Patient]:
    return Patient.objects.for_clinic(clinic).order_by("last_name", "first_name")


class CalendarQuery(forms.Form):
    view = forms.ChoiceField(choices=[("day", "Day"), ("week", "Week")], required=False)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(choices=COLUMN_CHOICES, required=False, label="Columns")
    staff = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Clinician", empty_label="Everyone"
    )
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", staff_of(clinic))
        _choices(self, "patient", _patients_of(clinic))

    def clean_date(self) -> Any:
        # A week around the date must still be a date: keep clear of the calendar's ends.
        value = self.cleaned_data["date"]
        if value is not None and not CALENDAR_FIRST <= value <= CALENDAR_LAST:
            raise forms.ValidationError(
                f"Choose a date between {CALENDAR_FIRST:%Y-%m-%d} and {CALENDAR_LAST:%Y-%m-%d}."
            )
        return value


CALENDAR_FIRST = date(1900, 1, 1)
CALENDAR_LAST = date(9998, 12, 31)


class CalendarBookForm(BookForm):
    patient = forms.ModelChoiceField(queryset=Patient.objects.none())
    field_order = ("patient", "kind", "start", "staff", "room", "chair", "note", "past_reason")

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        _choices(self, "patient", _patients_of(clinic))
        self.fields["staff"].label = "Clinician"


class MoveForm(SlotForm):
    past_reason = PAST_REASON

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        self.fields["start"].label = "New start"
        self.fields["staff"].label = "Clinician"


class FreeSlotForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, label="Visit type")
    staff = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Clinician", empty_label="Anyone"
    )
    start_on = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    count = forms.IntegerField(min_value=1, max_value=30, required=False, label="How many")
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", staff_of(clinic))
        _choices(self, "patient", _patients_of(clinic))


class SelfBookForm(forms.Form):
    """A patient's choice of one offered time (the times come from the booking page)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind of visit"))
    start = forms.DateTimeField(
        label=gettext_lazy("Time"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = kinds


class MoveOwnForm(forms.Form):
    start = forms.DateTimeField(
        label=gettext_lazy("New time"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )
