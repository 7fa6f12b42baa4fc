from django import forms

from katclinic.surveillance.models import Decision

REASON_MAX = 4000


class CloseTaskForm(forms.Form):
    task = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.CharField(
        label="What was decided or done",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision", choices=Decision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Say what the decision rests on: screens, exposure, side effects, outcome.",
    )
    close_open_tasks = forms.BooleanField(
        required=False,
        initial=True,
        label="Close this patient's open review tasks with this decision",
    )
