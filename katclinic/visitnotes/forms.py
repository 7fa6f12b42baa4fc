"""The note form is built from its kind's template: only that kind's fields."""

from __future__ import annotations

from typing import Any

from django import forms

from katclinic.visitnotes.kinds import NoteTemplate
from katclinic.visitnotes.services import MAX_TEXT


class NoteForm(forms.Form):
    def __init__(self, template: NoteTemplate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        for field in template.fields:
            if field.choices:
                self.fields[field.key] = forms.ChoiceField(
                    label=field.label,
                    choices=field.choices,
                    required=field.required,
                    widget=forms.RadioSelect,
                    help_text=field.help,
                )
            else:
                self.fields[field.key] = forms.CharField(
                    label=field.label,
                    required=field.required,
                    max_length=MAX_TEXT,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    help_text=field.help,
                )
        self.fields["sign"] = forms.BooleanField(
            label="Sign now (a signed note cannot change; later words are addenda)",
            required=False,
        )

    def content(self) -> dict[str, str]:
        return {f.key: self.cleaned_data.get(f.key) or "" for f in self.template.fields}

    def named_errors(self) -> list[str]:
        """Each error with the label of its field, for the message at the top."""
        named: list[str] = []
        for key, errors in self.errors.items():
            label = self.fields[key].label if key in self.fields else "Note"
            named.extend(f"{label}: {e}" for e in errors)
        return named


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
