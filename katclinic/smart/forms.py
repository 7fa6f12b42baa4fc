from __future__ import annotations

from django import forms


class AppForm(forms.Form):
    name = forms.CharField(max_length=100, label="App name", help_text="As people will see it")
    redirect_uris = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20000,
        required=False,
        label="Redirect addresses",
        help_text="One a line, exactly as the app sends them (https://, or http://localhost)",
    )
    origins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=20000,
        required=False,
        label="Web origins allowed to call from a browser",
        help_text="One a line; leave empty to allow the origins of the redirect addresses",
    )
    launch_url = forms.CharField(
        max_length=2000,
        required=False,
        label="Launch address",
        help_text="Where staff open the app from a patient's chart (SMART EHR launch); "
        "leave empty if it is only opened on its own",
    )
    kind = forms.ChoiceField(
        choices=[
            ("public", "Public: runs on a phone or in a browser and keeps no secret"),
            ("confidential", "Confidential: runs on a server and keeps a client secret"),
            ("backend", "Backend service: a server that exports the clinic's data in bulk"),
        ],
        widget=forms.RadioSelect,
        initial="public",
        label="Kind of app",
    )
    jwks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=50000,
        required=False,
        label="Public keys (JWKS) of a backend service",
        help_text='The service\'s {"keys": [...]} document; it signs in with the matching '
        "private key. Leave empty for other kinds.",
    )
    system_scopes = forms.CharField(
        max_length=2000,
        required=False,
        label="What a backend service may export",
        help_text="system/*.rs for every record, or types such as system/Patient.rs",
    )


class PatientChoiceForm(forms.Form):
    mrn = forms.CharField(
        max_length=40,
        required=False,
        label="Patient record number",
        help_text="The app will read this patient's record only",
    )


class LaunchForm(forms.Form):
    app = forms.IntegerField(min_value=1, max_value=2**31 - 1, label="App")
