from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from katclinic.lib.units import to_kg
from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient

DATE = forms.DateInput(attrs={"type": "date"})


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


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity"]


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


class DiagnosisForm(forms.ModelForm):
    class Meta:
        model = Diagnosis
        fields = ["icd10_code", "description", "is_primary", "onset"]
        widgets = {"onset": DATE}

    def clean_icd10_code(self) -> str:
        return self.cleaned_data["icd10_code"].strip().upper()


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
