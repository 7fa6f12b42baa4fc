"""Forms of the insurance pages. Each field's limits match the X12 element it ends up in."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from katclinic.insurance import rules
from katclinic.insurance.models import (
    AuthStatus,
    Coverage,
    DocumentKind,
    PriorAuthorization,
    Priority,
    Relationship,
    SubscriberSex,
)
from katclinic.insurance.services import AuthorizationData, CoverageData

DATE = forms.DateInput(attrs={"type": "date"})
MAX_UNITS = 100_000


class CoverageForm(forms.Form):
    payer_name = forms.CharField(max_length=60)
    payer_id = forms.CharField(
        label="Payer id", max_length=80, help_text="The payer's electronic id at the clearinghouse."
    )
    plan_name = forms.CharField(max_length=100, required=False)
    member_id = forms.CharField(label="Member id", max_length=80)
    group_number = forms.CharField(max_length=50, required=False)
    priority = forms.ChoiceField(choices=Priority.choices)
    relationship = forms.ChoiceField(
        label="Patient's relationship to the subscriber", choices=Relationship.choices
    )
    subscriber_first_name = forms.CharField(max_length=35)
    subscriber_last_name = forms.CharField(max_length=60)
    subscriber_birth_date = forms.DateField(widget=DATE)
    subscriber_sex = forms.ChoiceField(choices=SubscriberSex.choices)
    street = forms.CharField(label="Subscriber street address", max_length=55)
    city = forms.CharField(max_length=30)
    state = forms.CharField(max_length=2, help_text="Two letters, e.g. NY.")
    postal_code = forms.CharField(label="ZIP code", max_length=10)
    valid_from = forms.DateField(label="Coverage starts", widget=DATE)
    valid_to = forms.DateField(label="Coverage ends", widget=DATE, required=False)

    def clean_state(self) -> str:
        value = self.cleaned_data["state"].strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise forms.ValidationError("Enter the two-letter state code.")
        return value

    def clean_postal_code(self) -> str:
        value = self.cleaned_data["postal_code"].strip()
        digits = value.replace("-", "")
        if not re.fullmatch(r"\d{5}|\d{9}", digits):
            raise forms.ValidationError("Enter a 5-digit ZIP code or ZIP+4.")
        return digits

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", "The end date is before the start date.")
        return data

    def data_object(self) -> CoverageData:
        return CoverageData(**self.cleaned_data)

    @classmethod
    def initial_from(cls, coverage: Coverage) -> dict[str, Any]:
        return {name: getattr(coverage, name) for name in cls.base_fields}


class EligibilityRequestForm(forms.Form):
    service_date = forms.DateField(label="Date of the visit to check", widget=DATE)


class EligibilityAnswerForm(forms.Form):
    answer = forms.FileField(
        label="Payer's answer (271 file)", help_text="The eligibility answer file, up to 1 MB."
    )

    def clean_answer(self) -> str:
        upload = self.cleaned_data["answer"]
        if upload.size > 1024 * 1024:
            raise forms.ValidationError("The file is larger than 1 MB.")
        try:
            return bytes(upload.read()).decode("ascii")
        except UnicodeDecodeError:
            raise forms.ValidationError("This is not an X12 text file.") from None


class AuthorizationForm(forms.Form):
    codes = forms.CharField(
        label="Billing codes covered",
        max_length=100,
        help_text="HCPCS or CPT codes the payer approved, separated by commas, e.g. J0013, G2083.",
    )
    status = forms.ChoiceField(choices=AuthStatus.choices)
    number = forms.CharField(label="Authorization number", max_length=50, required=False)
    approved_units = forms.IntegerField(min_value=0, max_value=MAX_UNITS, initial=0)
    valid_from = forms.DateField(label="Approved from", widget=DATE, required=False)
    valid_to = forms.DateField(label="Approved to", widget=DATE, required=False)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )

    def clean_codes(self) -> str:
        codes = rules.parse_codes(self.cleaned_data["codes"])
        bad = [c for c in codes if not re.fullmatch(r"[A-Z0-9]{5}", c)]
        if bad or not codes:
            raise forms.ValidationError("Enter five-character HCPCS or CPT codes.")
        return ", ".join(codes)

    def data_object(self) -> AuthorizationData:
        return AuthorizationData(**self.cleaned_data)

    @classmethod
    def initial_from(cls, auth: PriorAuthorization) -> dict[str, Any]:
        return {name: getattr(auth, name) for name in cls.base_fields}


class UseForm(forms.Form):
    used_on = forms.DateField(label="Date of service", widget=DATE)
    units = forms.IntegerField(
        min_value=-MAX_UNITS,
        max_value=MAX_UNITS,
        help_text="A negative number corrects an earlier entry; say why in the note.",
    )
    note = forms.CharField(max_length=200, required=False)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label="Document", choices=DocumentKind.choices)
    file = forms.FileField(help_text="PDF, PNG or JPEG, up to 10 MB.")


class ClaimStatusForm(forms.Form):
    status = forms.ChoiceField(
        label="Clearinghouse answer",
        choices=[("accepted", "Accepted by the payer"), ("rejected", "Rejected")],
    )
    note = forms.CharField(
        label="Reason or reference",
        max_length=300,
        required=False,
        help_text="Required when rejected.",
    )


class RemittanceForm(forms.Form):
    file = forms.FileField(label="Remittance advice (835 file)", help_text="Up to 5 MB.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 5 MB.")
        try:
            return bytes(upload.read()).decode("ascii")
        except UnicodeDecodeError:
            raise forms.ValidationError("This is not an X12 text file.") from None
