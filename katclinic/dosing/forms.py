from datetime import date, datetime
from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from django import forms
from django.utils import timezone

from katclinic.dosing import rems
from katclinic.dosing.ledger import EntryKind
from katclinic.dosing.models import Pregnancy, SideEffect, StockLot, SupportNote
from katclinic.dosing.statemachine import SessionState
from katclinic.lib.parse import DayField
from katclinic.protocols.models import Plan
from katclinic.scheduling.models import Appointment

WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DAY = forms.DateInput(attrs={"type": "date"})


def _mg(label: str, *, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=required, max_digits=8, decimal_places=2, min_value=Decimal("0.01")
    )


def _now_field(label: str, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=WHEN, required=required, initial=timezone.localtime
    )


class SessionForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none())
    appointment = forms.ModelChoiceField(
        queryset=Appointment.objects.none(),
        required=False,
        help_text="A booked dosing appointment; its chair and start are used",
    )
    chair = forms.CharField(
        max_length=40, required=False, help_text="Only without a booking; a booking's chair is used"
    )
    scheduled_for = _now_field("Start", required=False)

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(  # type: ignore[attr-defined]
            patient=patient, clinic_id=patient.clinic_id, status="active"
        ).select_related("protocol_version")
        self.fields["appointment"].queryset = Appointment.objects.filter(  # type: ignore[attr-defined]
            patient=patient,
            clinic_id=patient.clinic_id,
            kind="dosing",
            dosing_sessions__isnull=True,
        ).select_related("chair")
        bookings = self.fields["appointment"].queryset  # type: ignore[attr-defined]
        open_bookings = list(bookings.exclude(state__in=["cancelled", "no_show"])[:2])
        if len(open_bookings) == 1 and not self.is_bound:
            self.initial.setdefault("appointment", open_bookings[0].pk)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("appointment") is None:
            for name in ("chair", "scheduled_for"):
                if not data.get(name):
                    self.add_error(name, "Required unless a dosing appointment is chosen.")
        return data


class TransitionForm(forms.Form):
    to = forms.ChoiceField(
        choices=[
            (s.value, s.value)
            for s in (
                SessionState.CHECKED_IN,
                SessionState.PRE_DOSE_CHECKS,
                SessionState.MONITORING,
                SessionState.STOPPED_EARLY,
            )
        ]
    )
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PreDoseForm(forms.Form):
    systolic = forms.IntegerField(min_value=50, max_value=260)
    diastolic = forms.IntegerField(min_value=20, max_value=200)
    heart_rate = forms.IntegerField(min_value=20, max_value=250)
    spo2 = forms.IntegerField(label="SpO2 (%)", min_value=50, max_value=100)
    last_food_at = forms.DateTimeField(label="Last food", widget=WHEN, required=False)
    last_liquid_at = forms.DateTimeField(label="Last liquid", widget=WHEN, required=False)
    escort_confirmed = forms.BooleanField(label="Escort home confirmed", required=False)
    no_driving_agreed = forms.BooleanField(
        label="Agrees not to drive until the next day after sleep", required=False
    )
    pregnancy_status = forms.ChoiceField(choices=Pregnancy.choices)
    meds_reviewed = forms.BooleanField(
        label="Concomitant medications reviewed (benzodiazepines, stimulants, MAOIs)",
        required=False,
    )
    questionnaires_confirmed = forms.BooleanField(
        label="Questionnaires done in the clinic or on paper", required=False
    )
    rems_enrolled_on = forms.DateField(
        label="REMS enrolment date (esketamine)", widget=DAY, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("systolic") and data.get("diastolic") and data["systolic"] <= data["diastolic"]:
            self.add_error("diastolic", "Diastolic must be below systolic.")
        for name in ("last_food_at", "last_liquid_at"):
            value: datetime | None = data.get(name)
            if value is not None and value > timezone.now():
                self.add_error(name, "This time is in the future.")
        return data


class OverrideForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AdministrationForm(forms.Form):
    lot = forms.ModelChoiceField(queryset=StockLot.objects.none())
    dose_mg = _mg("Dose (mg)")
    started_at = _now_field("Started")
    ended_at = forms.DateTimeField(label="Ended", widget=WHEN, required=False)
    rate_mg_per_h = _mg("Infusion rate (mg/h)", required=False)
    drawn_mg = _mg("Drawn up (mg), when more than the dose", required=False)
    late_entry_reason = forms.CharField(
        label="Reason for late entry",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the dose was given well before it is recorded.",
    )

    def __init__(self, *args: Any, clinic: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = StockLot.objects.filter(clinic=clinic)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("ended_at")
            and data.get("started_at")
            and data["ended_at"] < data["started_at"]
        ):
            self.add_error("ended_at", "The end is before the start.")
        return data


class AdjunctForm(forms.Form):
    product = forms.CharField(max_length=200, initial="Ondansetron")
    dose_mg = _mg("Dose (mg)")
    route = forms.ChoiceField(
        choices=[("oral", "Oral"), ("iv", "IV"), ("sublingual", "Sublingual"), ("im", "IM")]
    )
    lot_number = forms.CharField(max_length=60)
    expiry = forms.DateField(widget=DAY)
    started_at = _now_field("Given")


class CheckpointForm(forms.Form):
    """A reading; its label is one of the protocol's checkpoints, a recheck, or an extra reading."""

    label = forms.ChoiceField(choices=[])
    taken_at = _now_field("Taken")
    systolic = forms.IntegerField(min_value=50, max_value=260, required=False)
    diastolic = forms.IntegerField(min_value=20, max_value=200, required=False)
    heart_rate = forms.IntegerField(min_value=20, max_value=250, required=False)
    spo2 = forms.IntegerField(label="SpO2 (%)", min_value=50, max_value=100, required=False)
    respiratory_rate = forms.IntegerField(min_value=2, max_value=60, required=False)
    moaas = forms.IntegerField(label="MOAA/S (0-5)", min_value=0, max_value=5, required=False)
    cadss6 = forms.IntegerField(
        label="CADSS-6 total (0-24)", min_value=0, max_value=24, required=False
    )
    recheck_of = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = [*dict.fromkeys(labels), "recheck", "extra reading"]
        self.fields["label"].choices = [(o, o) for o in options]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("systolic") is None) != (data.get("diastolic") is None):
            self.add_error("diastolic", "Give both systolic and diastolic.")
        elif data.get("systolic") and data["systolic"] <= data["diastolic"]:
            self.add_error("diastolic", "Diastolic must be below systolic.")
        return data


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label="What was done", max_length=2000)


class SideEffectData(TypedDict):
    """A side effect as SideEffectForm cleans it; what the form may leave blank may be left out."""

    kind: str
    severity: str
    other: NotRequired[str]
    action: NotRequired[str]
    serious: NotRequired[bool]
    what_was_done: NotRequired[str]
    follow_up: NotRequired[str]


class SideEffectForm(forms.ModelForm):
    class Meta:
        model = SideEffect
        fields = ["kind", "other", "severity", "action", "serious", "what_was_done", "follow_up"]
        widgets = {
            n: forms.Textarea(attrs={"rows": 2}) for n in ("action", "what_was_done", "follow_up")
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "other" and not data.get("other"):
            self.add_error("other", "Name the side effect.")
        if data.get("serious"):
            for name in ("what_was_done", "follow_up"):
                if not data.get(name):
                    self.add_error(name, "Required for a serious adverse event.")
        return data

    def side_effect_data(self) -> SideEffectData:
        data = self.cleaned_data
        return SideEffectData(
            kind=data["kind"],
            severity=data["severity"],
            other=data["other"],
            action=data["action"],
            serious=data["serious"],
            what_was_done=data["what_was_done"],
            follow_up=data["follow_up"],
        )


class DischargeForm(forms.Form):
    dissociation_resolved = forms.BooleanField(required=False)
    respiratory_depression_resolved = forms.BooleanField(
        label="No respiratory depression", required=False
    )
    vitals_acceptable = forms.BooleanField(required=False)
    escort_present = forms.BooleanField(required=False)


class NoteForm(forms.ModelForm):
    sign = forms.BooleanField(label="Sign now (a signed note cannot be changed)", required=False)

    class Meta:
        model = SupportNote
        fields = [
            "kind",
            "intention",
            "concerns",
            "agreed_support",
            "supportive_touch_consent",
            "observations",
            "guidance",
            "integration",
        ]
        widgets = {
            n: forms.Textarea(attrs={"rows": 3})
            for n in (
                "intention",
                "concerns",
                "agreed_support",
                "observations",
                "guidance",
                "integration",
            )
        }


class AddendumForm(forms.Form):
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


YES_NO = [("", "—"), ("yes", "Yes"), ("no", "No")]


class RemsDataForm(forms.Form):
    """One input per REMS field; yes/no answers are stored as booleans."""

    def __init__(self, *args: Any, initial_data: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in rems.FIELDS:
            value = initial_data.get(spec.key)
            if spec.kind == "yes_no":
                field: forms.Field = forms.ChoiceField(choices=YES_NO, required=False)
                value = "" if value is None else ("yes" if value else "no")
            elif spec.kind == "choice":
                field = forms.ChoiceField(
                    choices=[("", "—"), *rems.DOSE_CHOICES.items()], required=False
                )
            elif spec.kind == "minutes":
                field = forms.IntegerField(min_value=0, max_value=1440, required=False)
            elif spec.kind == "date":
                field = forms.DateField(widget=DAY, required=False)
            else:
                field = forms.CharField(max_length=500, required=False)
            field.label, field.initial = spec.label, value
            self.fields[spec.key] = field

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in rems.FIELDS:
            value = self.cleaned_data.get(spec.key)
            if spec.kind == "yes_no":
                value = None if value in ("", None) else value == "yes"
            elif isinstance(value, date):
                value = value.isoformat()
            elif value == "":
                value = None
            out[spec.key] = value
        return out


class ReceiptForm(forms.Form):
    product = forms.CharField(max_length=200)
    lot_number = forms.CharField(max_length=60)
    expiry = forms.DateField(widget=DAY)
    quantity_mg = _mg("Quantity (mg)")
    concentration_mg_per_ml = _mg("Concentration (mg/mL), for solutions", required=False)
    supplier = forms.CharField(max_length=200)


MOVEMENT_KINDS = [
    (k.value, k.value.replace("_", " ").capitalize())
    for k in (
        EntryKind.WASTE,
        EntryKind.TRANSFER_OUT,
        EntryKind.TRANSFER_IN,
        EntryKind.RETURN,
        EntryKind.CORRECTION,
    )
]


class MovementForm(forms.Form):
    kind = forms.ChoiceField(choices=MOVEMENT_KINDS)
    quantity_mg = forms.DecimalField(
        label="Quantity (mg; a correction may be negative)", max_digits=10, decimal_places=2
    )
    reason = forms.CharField(max_length=2000, required=False)
    counterparty = forms.CharField(
        label="Supplier, clinic or distributor", max_length=200, required=False
    )
    corrects = forms.IntegerField(label="Entry number corrected", required=False)
    from_draw = forms.IntegerField(label="Draw entry number this waste came from", required=False)
    witness_email = forms.EmailField(required=False)
    witness_password = forms.CharField(widget=forms.PasswordInput, required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needs_witness = data.get("kind") in (EntryKind.WASTE, EntryKind.CORRECTION)
        if needs_witness and not (data.get("witness_email") and data.get("witness_password")):
            self.add_error(
                "witness_email", "Waste and corrections need a second person to witness them."
            )
        quantity = data.get("quantity_mg")
        if quantity is not None and data.get("kind") != EntryKind.CORRECTION and quantity <= 0:
            self.add_error("quantity_mg", "Enter a quantity above zero.")
        return data


class CountForm(forms.Form):
    counted_mg = forms.DecimalField(
        label="Counted (mg)", max_digits=10, decimal_places=2, min_value=Decimal(0)
    )


class ReportForm(forms.Form):
    start = DayField(widget=DAY)
    end = DayField(widget=DAY)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data


def attach_field_error(form: forms.BaseForm, message: str) -> str:
    """Show a service refusal that names a field ("field: why") at that field too.

    Returns the words for the top of the page, with the field's label in place of its name.
    """
    field, _, why = message.partition(":")
    if not why or " " in field.strip():
        return message
    why = why.strip()
    if field in form.fields:
        form.add_error(field, why)
        label = form.fields[field].label or field.replace("_", " ").capitalize()
        return f"{label}: {why}"
    return why[:1].upper() + why[1:]
