from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict, get_args

from django import forms
from django.conf import settings
from django.utils import timezone

from katclinic.lib.units import to_kg
from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient

DATE = forms.DateInput(attrs={"type": "date"})


class PatientData(TypedDict):
    """A patient's demographics as PatientForm cleans them; a field the form may leave blank
    may be left out, and the record's default holds."""

    first_name: str
    last_name: str
    date_of_birth: date
    preferred_name: NotRequired[str]
    pronouns: NotRequired[str]
    sex_at_birth: NotRequired[str]
    email: NotRequired[str]
    phone: NotRequired[str]
    preferred_language: NotRequired[str]
    address: NotRequired[str]
    emergency_contact_name: NotRequired[str]
    emergency_contact_phone: NotRequired[str]
    emergency_contact_relationship: NotRequired[str]


class PatientChanges(TypedDict, total=False):
    """Any of a patient's demographics, to change."""

    first_name: str
    last_name: str
    date_of_birth: date
    preferred_name: str
    pronouns: str
    sex_at_birth: str
    email: str
    phone: str
    preferred_language: str
    address: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relationship: str


def _text(cleaned: Mapping[str, object], name: str) -> str:
    value = cleaned[name]
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected text, got {type(value).__name__}")
    return value


# The fields a patient's record may leave at their defaults.
OptionalText = Literal[
    "preferred_name",
    "pronouns",
    "sex_at_birth",
    "email",
    "phone",
    "preferred_language",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
]
OPTIONAL_TEXT: tuple[OptionalText, ...] = get_args(OptionalText)


def patient_data(cleaned: Mapping[str, object]) -> PatientData:
    """PatientForm's cleaned data (or any of its optional fields), each field checked to be
    of its type; the date of birth may be written as YYYY-MM-DD."""
    born = cleaned["date_of_birth"]
    if isinstance(born, str):
        born = date.fromisoformat(born)
    if not isinstance(born, date):
        raise TypeError(f"date_of_birth: expected a date, got {type(born).__name__}")
    data = PatientData(
        first_name=_text(cleaned, "first_name"),
        last_name=_text(cleaned, "last_name"),
        date_of_birth=born,
    )
    for name in OPTIONAL_TEXT:
        if name in cleaned:
            data[name] = _text(cleaned, name)
    return data


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "preferred_name",
            "pronouns",
            "date_of_birth",
            "sex_at_birth",
            "email",
            "phone",
            "preferred_language",
            "address",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
        ]
        widgets = {"date_of_birth": DATE, "address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].required = False
        self.fields[
            "preferred_language"
        ].help_text = "The patient's portal, emails, texts and documents are in this language."

    def clean_preferred_language(self) -> str:
        """Left out of the form, the language stays as it was (new patients: the default)."""
        code: str = self.cleaned_data.get("preferred_language") or ""
        return code or self.instance.preferred_language or settings.LANGUAGE_CODE

    def clean_date_of_birth(self) -> date:
        born: date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("Date of birth cannot be in the future.")
        if born.year < today.year - 120:
            raise forms.ValidationError("Check the year: that would make the patient over 120.")
        return born

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("email") and not data.get("phone"):
            self.add_error(
                "phone",
                "Give a phone number or an email address so the clinic can reach the patient.",
            )
        return data

    def patient_data(self) -> PatientData:
        """The cleaned demographics of a valid form."""
        return patient_data(self.cleaned_data)


class WeightData(TypedDict):
    """A weight as WeightForm cleans it: what was entered and the same in kilograms."""

    weight_kg: Decimal
    entered_value: Decimal
    entered_unit: str
    measured_on: date


class WeightForm(forms.Form):
    value = forms.DecimalField(
        label="Weight",
        min_value=Decimal("1"),
        max_value=Decimal("900"),
        decimal_places=1,
        max_digits=5,
    )
    unit = forms.ChoiceField(choices=[("kg", "kg"), ("lb", "lb")], initial="kg")
    measured_on = forms.DateField(widget=DATE, initial=timezone.localdate)

    def clean_measured_on(self) -> date:
        day: date = self.cleaned_data["measured_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("A weight cannot be measured in the future.")
        return day

    def clean(self) -> dict:
        data = super().clean() or {}
        if "value" in data and "unit" in data:
            kg = to_kg(data["value"], data["unit"])
            if not Decimal("20") <= kg <= Decimal("400"):
                self.add_error(
                    "value", f"{kg} kg is outside 20-400 kg; check the number and the unit."
                )
            data["weight_kg"] = kg
        return data

    def weight_data(self) -> WeightData:
        data = self.cleaned_data
        return WeightData(
            weight_kg=data["weight_kg"],
            entered_value=data["value"],
            entered_unit=data["unit"],
            measured_on=data["measured_on"],
        )


class AllergyData(TypedDict):
    substance: str
    reaction: NotRequired[str]
    severity: NotRequired[str]


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity"]

    def allergy_data(self) -> AllergyData:
        data = self.cleaned_data
        return AllergyData(
            substance=data["substance"], reaction=data["reaction"], severity=data["severity"]
        )


class MedicationData(TypedDict):
    name: str
    dose: NotRequired[str]
    is_maoi: NotRequired[bool]
    is_benzodiazepine: NotRequired[bool]
    is_psychostimulant: NotRequired[bool]
    is_cns_depressant: NotRequired[bool]
    started_on: NotRequired[date | None]


class MedicationForm(forms.ModelForm):
    class Meta:
        model = Medication
        fields = [
            "name",
            "dose",
            "is_maoi",
            "is_benzodiazepine",
            "is_psychostimulant",
            "is_cns_depressant",
            "started_on",
        ]
        widgets = {"started_on": DATE}

    def medication_data(self) -> MedicationData:
        data = self.cleaned_data
        return MedicationData(
            name=data["name"],
            dose=data["dose"],
            is_maoi=data["is_maoi"],
            is_benzodiazepine=data["is_benzodiazepine"],
            is_psychostimulant=data["is_psychostimulant"],
            is_cns_depressant=data["is_cns_depressant"],
            started_on=data["started_on"],
        )


class DiagnosisData(TypedDict):
    icd10_code: str
    description: str
    is_primary: NotRequired[bool]
    onset: NotRequired[date | None]


class DiagnosisForm(forms.ModelForm):
    class Meta:
        model = Diagnosis
        fields = ["icd10_code", "description", "is_primary", "onset"]
        widgets = {"onset": DATE}

    def clean_icd10_code(self) -> str:
        return self.cleaned_data["icd10_code"].strip().upper()

    def diagnosis_data(self) -> DiagnosisData:
        data = self.cleaned_data
        return DiagnosisData(
            icd10_code=data["icd10_code"],
            description=data["description"],
            is_primary=data["is_primary"],
            onset=data["onset"],
        )


# How the patient list can be ordered: the choice's value is what the address carries.
LIST_ORDERS = {
    "name": ("last_name", "first_name", "pk"),
    "mrn": ("mrn", "pk"),
    "birth": ("date_of_birth", "last_name", "pk"),
    "newest": ("-pk",),
}


class PatientListForm(forms.Form):
    """The patient list's search, filter and order, all from the address."""

    q = forms.CharField(
        label="Search by name, record number, date of birth (YYYY-MM-DD), email or phone",
        required=False,
        max_length=100,
    )
    stage = forms.ChoiceField(
        label="Stage", required=False, choices=[("", "Any stage"), *Patient.Stage.choices]
    )
    sort = forms.ChoiceField(
        label="Order by",
        required=False,
        choices=[
            ("name", "Name"),
            ("mrn", "Record number"),
            ("birth", "Date of birth"),
            ("newest", "Newest registered first"),
        ],
    )
