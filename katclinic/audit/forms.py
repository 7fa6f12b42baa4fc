from django import forms

from katclinic.audit.models import Action


class AuditFilterForm(forms.Form):
    patient = forms.IntegerField(required=False, min_value=1, label="Patient id")
    user = forms.CharField(required=False, max_length=254, label="User email")
    action = forms.ChoiceField(required=False, choices=[("", "Any"), *Action.choices])
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
