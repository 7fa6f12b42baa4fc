from __future__ import annotations

from typing import Any, cast

from django import forms

from katclinic.clinics.models import Clinic
from katclinic.protocols.models import AmendmentKind, ProtocolVersion


class ProtocolForm(forms.Form):
    text = forms.CharField(
        label="Protocol (JSON)",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        max_length=200_000,
    )
    note = forms.CharField(label="What changed and why", max_length=500)
    activate = forms.BooleanField(label="Make this the active version now", required=False)


class PlanForm(forms.Form):
    protocol_version = forms.ModelChoiceField(
        queryset=ProtocolVersion.objects.none(), label="Protocol"
    )
    phase = forms.CharField(
        max_length=64, initial="induction", help_text="Phase key from the protocol, e.g. induction"
    )
    start_on = forms.DateField(
        label="First dose on or after", widget=forms.DateInput(attrs={"type": "date"})
    )
    dose_mg = forms.DecimalField(
        label="Dose per administration (mg)",
        required=False,
        max_digits=7,
        decimal_places=1,
        min_value=0,
        help_text="Leave empty to use the protocol's starting dose.",
    )
    soft_limit_reason = forms.CharField(
        label="Reason for passing a soft limit",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    eligibility_reason = forms.CharField(
        label="Reason to treat despite a needs-review eligibility decision",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["protocol_version"])
        field.queryset = ProtocolVersion.objects.for_clinic(clinic).active().order_by("title")


class DraftForm(forms.Form):
    phase = forms.CharField(max_length=64)
    start_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    dose_mg = forms.DecimalField(
        label="Dose per administration (mg)",
        required=False,
        max_digits=7,
        decimal_places=1,
        min_value=0,
    )
    reason = forms.CharField(
        label="Reason (required for amendments)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    soft_limit_reason = forms.CharField(
        label="Reason for passing a soft limit",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AmendForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[c for c in AmendmentKind.choices if c[0] != AmendmentKind.INITIAL]
    )
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    dose_mg = forms.DecimalField(
        label="New dose (mg)", required=False, max_digits=7, decimal_places=1, min_value=0
    )
    phase = forms.CharField(
        max_length=64, required=False, help_text="For a phase change: the new phase key"
    )
    start_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    soft_limit_reason = forms.CharField(
        label="Reason for passing a soft limit",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
