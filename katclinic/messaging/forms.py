"""Forms of secure messaging. Limits are checked again by the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from katclinic.messaging.services import BODY_MAX, REASON_MAX, SUBJECT_MAX

ATTACH_HELP = _("Optional. A PDF, PNG or JPEG file, up to %(mb)s MB.")


def _file_field() -> forms.FileField:
    return forms.FileField(
        label=_("Attachment"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    file = _file_field()

    def __init__(self, *args: object, max_mb: int = 10, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["file"].help_text = ATTACH_HELP % {"mb": max_mb}


class StartForm(ReplyForm):
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    field_order = ["subject", "body", "file"]


class HideForm(forms.Form):
    reason = forms.CharField(
        label="Why hide it from the patient",
        max_length=REASON_MAX,
        help_text="The message stays in the record; staff still see it.",
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(
        label="Assigned to", coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: object, choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["assignee"].choices = [("", "No one")] + choices  # type: ignore[attr-defined]


class InboxFilter(forms.Form):
    assigned = forms.ChoiceField(
        label="Assigned to",
        choices=[("", "Anyone"), ("me", "Me"), ("none", "No one")],
        required=False,
    )
    show = forms.ChoiceField(
        label="Show",
        choices=[
            ("", "All threads"),
            ("waiting", "Waiting for a reply"),
            ("unread", "Unread by me"),
        ],
        required=False,
    )


class FindPatientForm(forms.Form):
    mrn = forms.CharField(label="Patient record number", max_length=20)
