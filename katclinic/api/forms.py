from __future__ import annotations

from django import forms
from django.conf import settings

from katclinic.api.models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="What the token is for", help_text="For example: lab interface"
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, label="It may"
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=settings.API_TOKEN_DAYS,
        label="Expires after (days)",
    )
