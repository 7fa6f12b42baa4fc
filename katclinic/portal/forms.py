from typing import Any, cast

from django import forms
from django.contrib.auth.password_validation import validate_password

from katclinic.portal.models import RequestKind


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        max_length=256,
        strip=False,
        help_text="At least 12 characters. A long phrase of ordinary words works well.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label="New password again",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password, self.user)
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", "The two passwords are not the same.")
        return data


class ChoicesForm(forms.Form):
    def _choice_field(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])


class JournalForm(ChoicesForm):
    text = forms.CharField(
        label="What would you like to write?",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    shared = forms.BooleanField(
        label="Share this entry with my care team",
        required=False,
        help_text="Entries are private unless you tick this. You can change it later.",
    )
    session = forms.TypedChoiceField(
        label="About a treatment session (optional)", required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, sessions: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self._choice_field("session").choices = [("", "Not about a particular session"), *sessions]
        if not sessions:
            del self.fields["session"]


class AppointmentRequestForm(ChoicesForm):
    appointment = forms.TypedChoiceField(
        label="Which visit?", coerce=int, required=False, empty_value=None
    )
    kind = forms.ChoiceField(
        label="What would you like?", choices=RequestKind.choices, widget=forms.RadioSelect
    )
    preferred_times = forms.CharField(
        label="Times that suit you (for a new time)", max_length=200, required=False
    )
    message = forms.CharField(
        label="Anything else the front desk should know",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, visits: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self._choice_field("appointment").choices = [("", "A visit not listed here"), *visits]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == RequestKind.RESCHEDULE and not data.get("preferred_times"):
            self.add_error("preferred_times", "Tell us which days or times would suit you.")
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label="Patient's email address", max_length=254)
