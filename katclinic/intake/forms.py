from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from katclinic.intake.models import ROUTE_CHOICES, ConsentScope, RequestState, Suggestion
from katclinic.intake.screening import ANSWERED_FACTS
from katclinic.measures import scoring
from katclinic.measures.instrument_translations import in_language

DATE = forms.DateInput(attrs={"type": "date"})
# The largest body the public form accepts; anything bigger is refused before parsing.
MAX_PUBLIC_BODY_BYTES = 16 * 1024
PHQ9 = scoring.load_builtin_instruments()["phq9"]


def _phq9_field(item: scoring.Item) -> forms.TypedChoiceField:
    choices = [("", _("Not answered"))] + [(o.value, o.display) for o in item.answer_options]
    return forms.TypedChoiceField(
        label=item.text, choices=choices, coerce=int, empty_value=None, required=False
    )


def language_of_page() -> str:
    code = get_language() or settings.LANGUAGE_CODE
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class ConsultationRequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    preferred_times = forms.CharField(
        label=_("Best times to reach you"), max_length=200, required=False
    )
    reason = forms.CharField(
        label=_("What brings you to us (briefly)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
    )
    consent_to_contact = forms.BooleanField(
        label=_("I agree that the clinic may contact me by the email or phone given above."),
        error_messages={"required": _("Tick this box so the clinic may contact you.")},
    )
    # A field people never see: automated senders fill it in.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The self-check in the visitor's language, in its official translation when one is
        # stored; answers are scored against the PHQ-9 itself.
        self.phq9 = in_language(PHQ9, get_language(), None)
        for item in self.phq9.items:
            self.fields[f"phq9_{item.link_id}"] = _phq9_field(item)

    @property
    def phq9_description(self) -> str:
        return self.phq9.description or ""

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"].strip()
        if phone and sum(ch in "0123456789" for ch in phone) < 7:
            raise forms.ValidationError(_("Enter a phone number with at least 7 digits."))
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("website"):
            raise forms.ValidationError(
                _("This form could not be accepted. Please call the clinic instead.")
            )
        if not data.get("email") and not data.get("phone"):
            self.add_error(
                "phone",
                _("Give an email address or a phone number so the clinic can reach you."),
            )
        return data

    def phq9_answers(self) -> dict[str, int | None] | None:
        """The self-screen answers, or None when the visitor skipped it entirely."""
        answers = {
            item.link_id: self.cleaned_data.get(f"phq9_{item.link_id}") for item in PHQ9.items
        }
        return answers if any(v is not None for v in answers.values()) else None

    def request_data(self) -> dict[str, Any]:
        names = ("name", "email", "phone", "preferred_times", "reason", "consent_to_contact")
        data = {name: self.cleaned_data[name] for name in names}
        return data | {"language": language_of_page()}

    def phq9_fields(self) -> list[forms.BoundField]:
        return [self[f"phq9_{item.link_id}"] for item in PHQ9.items]

    def contact_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "email", "phone", "preferred_times", "reason")]


class RequestStateForm(forms.Form):
    to_state = forms.ChoiceField(
        label="Move to",
        choices=[(s.value, s.label) for s in RequestState if s != RequestState.CONVERTED],
    )
    note = forms.CharField(max_length=500, required=False)


# Plain-language questions for each screening fact answered on the form.
FACT_LABELS = {
    "aneurysmal_vascular_disease": "Aneurysmal vascular disease (aorta, intracranial or peripheral arteries)",
    "arteriovenous_malformation": "Arteriovenous malformation",
    "intracerebral_hemorrhage_history": "History of intracerebral haemorrhage",
    "hypersensitivity_ketamine": "Hypersensitivity to ketamine, esketamine or an excipient",
    "uncontrolled_hypertension": "Uncontrolled hypertension (known diagnosis)",
    "unstable_cardiac_disease": "Unstable cardiac disease, arrhythmia or cerebrovascular disease",
    "raised_icp_or_iop": "Raised intracranial or intraocular pressure",
    "severe_liver_disease": "Severe liver disease (esketamine: Child-Pugh C)",
    "pregnant_or_breastfeeding": "Pregnant or breastfeeding",
    "psychosis_history": "Schizophrenia-spectrum or other psychotic disorder",
    "current_mania": "Current manic episode",
    "bipolar_without_mood_stabiliser": "Bipolar disorder without a mood stabiliser",
    "substance_use_disorder_active": "Active substance use disorder",
    "ketamine_or_pcp_use_disorder": "Ketamine or PCP use disorder (ever)",
    "cognitive_impairment": "Cognitive impairment",
}
PSYCHIATRIC = (
    "psychosis_history",
    "current_mania",
    "bipolar_without_mood_stabiliser",
    "substance_use_disorder_active",
    "ketamine_or_pcp_use_disorder",
    "cognitive_impairment",
)
TRI_STATE = forms.Select(
    choices=[("unknown", "Not yet answered"), ("false", "No"), ("true", "Yes")]
)


class ScreeningForm(forms.Form):
    route = forms.ChoiceField(label="Route under consideration", choices=ROUTE_CHOICES)
    diagnosis = forms.CharField(
        max_length=200, help_text="Working diagnosis, e.g. F33.2 recurrent MDD, severe."
    )
    episode_started_on = forms.DateField(label="Current episode began", widget=DATE, required=False)
    episode_notes = forms.CharField(label="Current episode", max_length=500, required=False)
    baseline_systolic_mmhg = forms.IntegerField(
        label="Baseline systolic BP (mmHg)", min_value=50, max_value=300, required=False
    )
    baseline_diastolic_mmhg = forms.IntegerField(
        label="Baseline diastolic BP (mmHg)", min_value=20, max_value=200, required=False
    )
    baseline_heart_rate_bpm = forms.IntegerField(
        label="Baseline heart rate (bpm)", min_value=20, max_value=250, required=False
    )
    height_cm = forms.DecimalField(
        label="Height (cm)",
        min_value=Decimal(50),
        max_value=Decimal(250),
        decimal_places=1,
        max_digits=4,
        required=False,
    )
    notes = forms.CharField(
        max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for fact in ANSWERED_FACTS:
            self.fields[fact] = forms.NullBooleanField(
                label=FACT_LABELS[fact], widget=TRI_STATE, required=False
            )

    def clean_episode_started_on(self) -> date | None:
        day: date | None = self.cleaned_data["episode_started_on"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError("The episode cannot begin in the future.")
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        systolic, diastolic = (
            data.get("baseline_systolic_mmhg"),
            data.get("baseline_diastolic_mmhg"),
        )
        if (systolic is None) != (diastolic is None):
            self.add_error(
                "baseline_diastolic_mmhg", "Enter both systolic and diastolic, or neither."
            )
        elif systolic is not None and diastolic is not None and diastolic >= systolic:
            self.add_error("baseline_diastolic_mmhg", "Diastolic must be below systolic.")
        return data

    def answers(self) -> dict[str, bool | None]:
        return {fact: self.cleaned_data.get(fact) for fact in ANSWERED_FACTS}

    def screening_data(self) -> dict[str, Any]:
        return {
            name: value for name, value in self.cleaned_data.items() if name not in ANSWERED_FACTS
        }

    def history_fields(self) -> list[forms.BoundField]:
        return [self[fact] for fact in PSYCHIATRIC]

    def medical_fields(self) -> list[forms.BoundField]:
        return [self[fact] for fact in ANSWERED_FACTS if fact not in PSYCHIATRIC]


class TrialForm(forms.Form):
    drug = forms.CharField(max_length=100)
    max_daily_dose_mg = forms.DecimalField(
        label="Max daily dose (mg)", min_value=Decimal(0), max_digits=7, decimal_places=2
    )
    adequate_dose_mg = forms.DecimalField(
        label="Adequate dose (mg)",
        min_value=Decimal(0),
        max_digits=7,
        decimal_places=2,
        required=False,
    )
    weeks_at_dose = forms.DecimalField(
        label="Weeks at dose",
        min_value=Decimal(0),
        max_value=Decimal(520),
        max_digits=5,
        decimal_places=1,
    )
    adherence = forms.ChoiceField(
        choices=[("", "—"), ("good", "Good"), ("partial", "Partial"), ("poor", "Poor")]
    )
    improvement_percent = forms.DecimalField(
        label="Improvement %",
        min_value=Decimal(-100),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=1,
        required=False,
    )
    current_episode = forms.TypedChoiceField(
        choices=[(True, "Yes"), (False, "No")], initial=True, coerce=lambda v: v in (True, "True")
    )


TrialFormSet = forms.formset_factory(
    TrialForm, extra=2, can_delete=True, max_num=20, validate_max=True
)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Suggestion.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    confirm = forms.BooleanField(label="I have reviewed this screening and sign this decision.")


class ConsentDocumentForm(forms.Form):
    scope = forms.ChoiceField(choices=ConsentScope.choices)
    route = forms.ChoiceField(
        choices=[("", "—"), *ROUTE_CHOICES],
        required=False,
        help_text="Only for a route-specific consent.",
    )
    title = forms.CharField(max_length=200)
    body = forms.CharField(max_length=50000, widget=forms.Textarea(attrs={"rows": 16}))
    effective_on = forms.DateField(widget=DATE, initial=timezone.localdate)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == ConsentScope.ROUTE and not data.get("route"):
            self.add_error("route", "Choose the route this consent covers.")
        return data


class SignConsentForm(forms.Form):
    typed_name = forms.CharField(label="Type your full name to sign", max_length=200)
    agree = forms.BooleanField(label="I have read this document and I agree to it.")


class WithdrawConsentForm(forms.Form):
    reason = forms.CharField(
        max_length=500, help_text="In the patient's words, or 'no reason given'."
    )
