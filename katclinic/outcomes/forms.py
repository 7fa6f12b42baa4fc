from django import forms


class ResearchExportForm(forms.Form):
    include_free_text = forms.BooleanField(
        required=False,
        label="Include support-note text (scrubbed by pattern matching only; a person must read it before it leaves the clinic)",
    )
    confirm = forms.BooleanField(
        required=True,
        label="I will keep this file within the approved research use and store it securely",
    )
