"""Forms of take-home dosing: they validate input; the rules live in services and gate."""

from __future__ import annotations

from typing import Any

from django import forms

from katclinic.athome import gate
from katclinic.athome.models import Severity
from katclinic.athome.services import PostAnswers, PrescriptionInput
from katclinic.protocols.models import Plan

YES_NO = [("yes", "Yes"), ("no", "No")]
SCORE = [(str(n), f"{n}") for n in range(5)]
# Common adverse reactions on the esketamine label, in plain words (SPRAVATO (esketamine)
# prescribing information, Janssen, rev. 2025).
SIDE_EFFECTS = [
    ("dizziness", "Dizziness or spinning (vertigo)"),
    ("nausea", "Nausea"),
    ("vomiting", "Vomiting"),
    ("sleepiness", "Heavy sleepiness"),
    ("anxiety", "Anxiety"),
    ("headache", "Headache"),
    ("numbness", "Numbness"),
    ("feeling_drunk", "Feeling drunk"),
]


def yes_no(label: str, **extra: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect, **extra
    )


def bp_field(label: str, required: bool) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=50, max_value=260, required=required)


class PrescriptionForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), label="Plan")
    product = forms.CharField(max_length=200, label="Product")
    strength_mg = forms.DecimalField(
        label="Strength per lozenge (mg)", min_value=1, max_digits=6, decimal_places=1
    )
    lozenges_per_session = forms.IntegerField(
        label="Lozenges per session", min_value=1, max_value=20
    )
    quantity = forms.IntegerField(label="Quantity (lozenges)", min_value=1, max_value=500)
    refills = forms.IntegerField(label="Refills", min_value=0, max_value=12, initial=0)
    pharmacy = forms.CharField(max_length=300, label="Pharmacy")
    pdmp_checked = forms.BooleanField(
        required=False, label="I checked the prescription-monitoring database for this patient"
    )
    pdmp_checked_on = forms.DateField(
        required=False,
        label="Date of the monitoring check",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, plans: list[Plan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(pk__in=[p.pk for p in plans])  # type: ignore[attr-defined]
        if len(plans) == 1:
            self.fields["plan"].initial = plans[0].pk
            self.fields["product"].initial = plans[0].protocol_version.protocol.product.name

    def data_input(self) -> PrescriptionInput:
        d = self.cleaned_data
        return PrescriptionInput(
            plan=d["plan"],
            product=d["product"],
            strength_mg=d["strength_mg"],
            lozenges_per_session=d["lozenges_per_session"],
            quantity=d["quantity"],
            refills=d["refills"],
            pharmacy=d["pharmacy"],
            pdmp_checked=d["pdmp_checked"],
            pdmp_checked_on=d["pdmp_checked_on"],
        )


class DispenseForm(forms.Form):
    quantity = forms.IntegerField(label="Lozenges dispensed", min_value=1, max_value=500)
    dispensed_on = forms.DateField(
        label="Dispensed on", widget=forms.DateInput(attrs={"type": "date"})
    )


class ReconcileForm(forms.Form):
    counted_remaining = forms.IntegerField(
        label="Lozenges counted today", min_value=0, max_value=5000
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseAlertForm(forms.Form):
    note = forms.CharField(label="What was done", widget=forms.Textarea(attrs={"rows": 2}))


class CheckInForm(forms.Form):
    """Only the protocol's items are asked; every asked question must be answered."""

    def __init__(
        self,
        *args: Any,
        items: list[str],
        substance_free_hours: int,
        fasting_text: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        f = self.fields
        if "home_bp" in items:
            f["systolic"] = bp_field("Systolic (top number, mmHg)", True)
            f["diastolic"] = bp_field("Diastolic (bottom number, mmHg)", True)
        if "sober_monitor" in items:
            f["monitor_present"] = yes_no(
                "Is a sober adult monitor with you now, for the whole session?"
            )
            f["monitor_name"] = forms.CharField(
                label="Your monitor's name", max_length=200, required=False
            )
        if "no_substances" in items:
            listed = ", ".join(gate.SUBSTANCES)
            f["substances_taken"] = yes_no(
                f"In the last {substance_free_hours} hours, have you had any of: {listed}?"
            )
        if "no_driving" in items:
            f["will_not_drive"] = yes_no(
                "Can you avoid driving until tomorrow, after you have slept?"
            )
        if "safe_setting" in items:
            f["safe_setting"] = yes_no(
                "Are you in a safe, quiet place where you can lie down undisturbed?"
            )
        if "fasting" in items:
            f["fasted"] = yes_no(f"Have you fasted as your plan asks ({fasting_text})?")

    def answers(self) -> gate.Answers:
        d = self.cleaned_data
        return gate.Answers(
            systolic=d.get("systolic"),
            diastolic=d.get("diastolic"),
            monitor_present=d.get("monitor_present", False),
            monitor_name=d.get("monitor_name", ""),
            substances_taken=d.get("substances_taken", False),
            will_not_drive=d.get("will_not_drive", False),
            safe_setting=d.get("safe_setting", False),
            fasted=d.get("fasted", False),
        )


class PostCheckInForm(forms.Form):
    side_effects = forms.MultipleChoiceField(
        label="Side effects since the dose",
        choices=SIDE_EFFECTS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    worst_severity = forms.TypedChoiceField(
        label="How bad was the worst of them?",
        coerce=int,
        widget=forms.RadioSelect,
        choices=[(str(s.value), s.label) for s in Severity],
    )
    side_effect_notes = forms.CharField(
        label="Anything else about side effects",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    detached_score = forms.TypedChoiceField(
        label="During the session, how detached from your body did you feel? (0 not at all, 4 extremely)",
        choices=SCORE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    unreal_score = forms.TypedChoiceField(
        label="During the session, how unreal did things around you seem? (0 not at all, 4 extremely)",
        choices=SCORE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    still_dissociated = yes_no("Do you still feel detached or unreal now?")
    feels_safe = yes_no("Do you feel safe now?")
    systolic = bp_field("Systolic after the session (mmHg)", False)
    diastolic = bp_field("Diastolic after the session (mmHg)", False)
    monitor_concerned = yes_no("Was your monitor worried at any point?")
    monitor_observation = forms.CharField(
        label="How did your monitor see the session?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, bp_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["systolic"].required = bp_required
        self.fields["diastolic"].required = bp_required

    def answers(self) -> PostAnswers:
        d = self.cleaned_data
        return PostAnswers(
            side_effects=list(d["side_effects"]),
            worst_severity=d["worst_severity"],
            side_effect_notes=d["side_effect_notes"],
            detached_score=d["detached_score"],
            unreal_score=d["unreal_score"],
            still_dissociated=d["still_dissociated"],
            feels_safe=d["feels_safe"],
            systolic=d.get("systolic"),
            diastolic=d.get("diastolic"),
            monitor_concerned=d["monitor_concerned"],
            monitor_observation=d["monitor_observation"],
        )
