from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms

from katclinic.clinics.models import Clinic
from katclinic.protocols.models import AmendmentKind, ProtocolVersion


class ProtocolForm(forms.Form):
    upload = forms.FileField(
        label="Protocol file (JSON)",
        required=False,
        help_text="Upload a protocol file, or paste its text below.",
    )
    text = forms.CharField(
        label="Protocol (JSON)",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        max_length=200_000,
        required=False,
    )
    note = forms.CharField(label="What changed and why", max_length=500)
    activate = forms.BooleanField(label="Make this the active version now", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload is not None:
            if upload.size > 200_000:
                self.add_error("upload", "The file is larger than 200 kB.")
                return data
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", "The file is not UTF-8 text.")
                return data
        if not data.get("text", "").strip() and "text" not in self.errors:
            self.add_error("text", "Upload a protocol file or paste its text.")
        return data


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


MEASURE_CHOICES = [
    ("bp", "Blood pressure"),
    ("hr", "Heart rate"),
    ("spo2", "Oxygen saturation"),
    ("rr", "Breathing rate"),
    ("moaas", "Sedation score (MOAA/S)"),
    ("cadss6", "Dissociation score (CADSS-6)"),
]


def _dose(label: str, unit: str, *, required: bool = True, help_text: str = "") -> Any:
    return forms.DecimalField(
        label=f"{label} ({unit})",
        required=required,
        max_digits=8,
        decimal_places=3,
        min_value=Decimal("0.001"),
        help_text=help_text,
    )


class ProtocolFieldsForm(forms.Form):
    """The numbers of a clinic version, edited from an existing version."""

    title = forms.CharField(max_length=500)
    starting_dose = forms.DecimalField()  # replaced in __init__ with the unit in its label
    mg_per_kg = forms.DecimalField(required=False)
    duration_minutes = forms.IntegerField(
        label="Infusion time (minutes)", required=False, min_value=1, max_value=1440
    )
    step_mg = forms.DecimalField(required=False)
    hard_min = forms.DecimalField()
    soft_min = forms.DecimalField(required=False)
    soft_max = forms.DecimalField(required=False)
    hard_max = forms.DecimalField()
    absolute_max_mg = forms.DecimalField(required=False)
    min_interval_hours = forms.IntegerField(
        label="Minimum time between doses (hours)", min_value=1, max_value=24 * 365
    )
    max_doses_per_week = forms.IntegerField(label="Most doses in a week", min_value=1, max_value=14)
    min_observation_minutes = forms.IntegerField(
        label="Minimum observation after the dose (minutes)", min_value=1, max_value=1440
    )
    note = forms.CharField(label="What changed and why", max_length=500)
    activate = forms.BooleanField(label="Make this the active version now", required=False)

    def __init__(self, *args: Any, unit: str, basis: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starting_dose"] = _dose("Starting dose", unit)
        self.fields["mg_per_kg"] = _dose("Dose per kilogram", "mg/kg")
        self.fields["step_mg"] = _dose("Dose step", "mg", help_text="Doses are whole steps.")
        self.fields["hard_min"] = _dose("Lowest dose allowed, hard limit", unit)
        self.fields["soft_min"] = _dose(
            "Lowest dose without a written reason, soft limit", unit, required=False
        )
        self.fields["soft_max"] = _dose(
            "Highest dose without a written reason, soft limit", unit, required=False
        )
        self.fields["hard_max"] = _dose("Highest dose allowed, hard limit", unit)
        self.fields["absolute_max_mg"] = _dose(
            "Absolute highest single dose", "mg", required=False, help_text="Leave empty for none."
        )
        if basis == "mg_per_kg":
            del self.fields["step_mg"]
        else:
            del self.fields["mg_per_kg"]
            del self.fields["duration_minutes"]
        order = ["title", "starting_dose", "mg_per_kg", "duration_minutes", "step_mg"]
        self.order_fields(order)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        hard_min, hard_max = data.get("hard_min"), data.get("hard_max")
        soft_min, soft_max = data.get("soft_min"), data.get("soft_max")
        if hard_min is not None and hard_max is not None:
            if hard_min > hard_max:
                self.add_error("hard_max", "Must not be below the lowest dose allowed.")
            for name, value in (("soft_min", soft_min), ("soft_max", soft_max)):
                if value is not None and not hard_min <= value <= hard_max:
                    self.add_error(name, "Must lie within the hard limits.")
            if soft_min is not None and soft_max is not None and soft_min > soft_max:
                self.add_error("soft_max", "Must not be below the lower soft limit.")
            for name in ("starting_dose", "mg_per_kg"):
                value = data.get(name)
                if value is not None and not hard_min <= value <= hard_max:
                    self.add_error(name, "Must lie within the hard limits.")
        return data


class CheckpointForm(forms.Form):
    label = forms.CharField(label="Name", max_length=500, required=False)
    minutes_after_start = forms.IntegerField(
        label="Minutes after the start", min_value=0, max_value=1440, required=False
    )
    measures = forms.MultipleChoiceField(
        label="Readings",
        choices=MEASURE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    repeat_every_minutes = forms.IntegerField(
        label="Repeat every (minutes)", min_value=1, max_value=1440, required=False
    )
    repeat_until_minutes = forms.IntegerField(
        label="Repeat until (minutes after the start)", min_value=1, max_value=1440, required=False
    )
    remove = forms.BooleanField(label="Remove this checkpoint", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("remove") or not self.has_changed() and not data.get("label"):
            return data
        if not data.get("label"):
            self.add_error("label", "Name the checkpoint.")
        if data.get("minutes_after_start") is None:
            self.add_error("minutes_after_start", "Give the minute it is due.")
        if not data.get("measures"):
            self.add_error("measures", "Choose at least one reading.")
        every, until = data.get("repeat_every_minutes"), data.get("repeat_until_minutes")
        if (every is None) != (until is None):
            field = "repeat_until_minutes" if until is None else "repeat_every_minutes"
            self.add_error(field, "Give both how often to repeat and until when, or neither.")
        start = data.get("minutes_after_start")
        if until is not None and start is not None and until <= start:
            self.add_error("repeat_until_minutes", "Must be after the first reading.")
        return data

    @property
    def kept(self) -> bool:
        data = self.cleaned_data
        return not data.get("remove") and bool(data.get("label"))


CheckpointFormSet = forms.formset_factory(CheckpointForm, extra=1, max_num=40, absolute_max=40)
