from django import forms


class SignInForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


NO_PASSKEY_ANSWER = {
    "required": "The browser sent no passkey. Use a browser that supports passkeys, with "
    "scripts allowed for this site.",
    "max_length": "The passkey's answer is too long.",
}


class PasskeyAddForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=60,
        help_text="Which device or key this is, such as “Work laptop” or “Blue security key”.",
        error_messages={"required": "Give the passkey a name, such as the device it is on."},
    )
    credential = forms.CharField(
        max_length=20_000,
        widget=forms.HiddenInput,
        error_messages=NO_PASSKEY_ANSWER,
    )


class PasskeySignInForm(forms.Form):
    credential = forms.CharField(
        max_length=20_000,
        widget=forms.HiddenInput,
        error_messages=NO_PASSKEY_ANSWER,
    )


class PasskeyRemoveForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
