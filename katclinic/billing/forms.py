from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from katclinic.billing.models import Invoice, PaymentMethod
from katclinic.billing.services import BillingError, parse_cents
from katclinic.patients.models import Patient


class CentsField(forms.CharField):
    """An amount typed as 450 or 450.00, cleaned to integer cents."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            return parse_cents(text, field=str(self.label or "amount"))
        except BillingError as exc:
            raise forms.ValidationError(str(exc)) from None


def _codes(text: str) -> list[str]:
    return [part.strip().upper() for part in text.replace(";", ",").split(",") if part.strip()]


class AdjustLineForm(forms.Form):
    units = forms.IntegerField(min_value=1, max_value=100_000)
    unit_price = CentsField(label="Price per unit")
    modifiers = forms.CharField(max_length=20, required=False)
    diagnoses = forms.CharField(max_length=60, required=False, help_text="e.g. F33.2, F41.1")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def diagnosis_list(self) -> list[str]:
        return _codes(self.cleaned_data.get("diagnoses") or "")


class AddLineForm(forms.Form):
    code = forms.CharField(max_length=10)
    units = forms.IntegerField(min_value=1, max_value=100_000, initial=1)
    unit_price = CentsField(label="Price per unit", required=False, help_text="Blank: the fee")
    modifiers = forms.CharField(max_length=20, required=False)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def refused(cls, message: str) -> ReasonForm:
        """An empty form carrying why the last action was refused, shown above it."""
        form = cls()
        form.cleaned_data = {}
        form.add_error(None, message)
        return form


class _TowardsInvoice(forms.Form):
    """A payment that may name one of the patient's invoices; cleaned, `invoice` is that
    invoice (or None)."""

    invoice = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, patient: Patient | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean_invoice(self) -> Invoice | None:
        invoice_id = self.cleaned_data["invoice"]
        if not invoice_id:
            return None
        invoice = Invoice.objects.filter(pk=invoice_id, patient=self.patient).first()
        if invoice is None:
            raise forms.ValidationError("That invoice is not this patient's.")
        return invoice


class PaymentForm(_TowardsInvoice):
    amount = CentsField(label="Amount")
    method = forms.ChoiceField(
        choices=[(PaymentMethod.CASH, "Cash"), (PaymentMethod.CHEQUE, "Cheque")]
    )
    reference = forms.CharField(max_length=60, required=False, label="Cheque number")
    field_order = ("amount", "method", "reference", "invoice")


class LinkForm(_TowardsInvoice):
    amount = CentsField(label="Amount")
    email = forms.EmailField(required=False, help_text="Blank: the patient's email")
    field_order = ("amount", "email", "invoice")


class RefundForm(forms.Form):
    amount = CentsField(label="Amount to refund")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class FeeScheduleForm(forms.Form):
    name = forms.CharField(max_length=120)
    payer = forms.CharField(max_length=120, required=False, help_text="Blank for self-pay")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    fees = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=5000,
        help_text="One code and price per line, e.g. 96365 300.00",
    )

    def clean_valid_from(self) -> date:
        day: date = self.cleaned_data["valid_from"]
        if not date(2000, 1, 1) <= day <= date(2100, 1, 1):
            raise forms.ValidationError("Enter a date between 2000 and 2100.")
        return day

    def clean_fees(self) -> dict[str, int]:
        prices: dict[str, int] = {}
        for number, raw in enumerate(self.cleaned_data["fees"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(f"Line {number}: write a code and a price.")
            try:
                prices[parts[0].upper()] = parse_cents(parts[1], field="fees")
            except BillingError as exc:
                raise forms.ValidationError(f"Line {number}: {exc}") from None
        if not prices:
            raise forms.ValidationError("Enter at least one price.")
        return prices


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end is before the start.")
        return data


class NpiForm(forms.Form):
    clinician = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    npi = forms.CharField(label="NPI", max_length=10, required=False)
