from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.scheduling.models import AppointmentRequest, Chair, Kind, Room


def staff_of(clinic: Clinic) -> QuerySet[User]:
    active = User.objects.filter(memberships__clinic=clinic, memberships__is_active=True)
    return active.distinct().order_by("full_name")


def _choices(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    cast(forms.ModelChoiceField, form.fields[name]).queryset = queryset


class SlotForm(forms.Form):
    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    staff = forms.ModelChoiceField(queryset=User.objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", staff_of(clinic))
        _choices(self, "room", Room.objects.filter(clinic=clinic, is_active=True))
        _choices(self, "chair", Chair.objects.filter(clinic=clinic, is_active=True))


class BookForm(SlotForm):
    kind = forms.ChoiceField(choices=Kind.choices)
    note = forms.CharField(max_length=300, required=False)


class StateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[
            ("confirmed", "Confirm"),
            ("checked_in", "Check in"),
            ("completed", "Complete"),
            ("no_show", "No-show"),
            ("cancelled", "Cancel"),
        ]
    )
    reason = forms.CharField(max_length=500, required=False, label="Reason (required to cancel)")


class ProposeForm(forms.Form):
    staff = forms.ModelChoiceField(queryset=User.objects.none(), label="Clinician")
    start_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff", staff_of(clinic))


class RequestForm(forms.ModelForm):
    class Meta:
        model = AppointmentRequest
        fields = ("name", "email", "phone", "preferred_times", "message")
