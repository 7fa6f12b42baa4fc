"""Reading questionnaire answers from a posted form, and the small staff forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from katclinic.lib.parse import BadParameter, parse_int
from katclinic.measures.models import CloseAction, Rule
from katclinic.measures.scoring import Answer, AnswerError, InstrumentDefinition

YES, NO = "yes", "no"


def answers_from_post(
    definition: InstrumentDefinition, data: Mapping[str, Any]
) -> tuple[dict[str, Answer], list[AnswerError]]:
    """Answers by link_id (None when blank) and any value the form could not read."""
    answers: dict[str, Answer] = {}
    errors = []
    for item in definition.items:
        raw = str(data.get(item.link_id, "")).strip()
        if raw == "":
            answers[item.link_id] = None
        elif item.type == "boolean" and raw in (YES, NO):
            answers[item.link_id] = raw == YES
        elif item.type == "choice" and (number := _whole_number(raw, item.link_id)) is not None:
            answers[item.link_id] = number
        else:
            errors.append(
                AnswerError(item.link_id, "invalid_answer", "choose one of the answers shown")
            )
    return answers, errors


def errors_by_item(errors: list[AnswerError]) -> dict[str, str]:
    """One clear message per question (the first problem found for it)."""
    shown: dict[str, str] = {}
    for error in errors:
        message = "Please answer this question." if error.kind == "missing" else error.message
        shown.setdefault(error.link_id, message)
    return shown


class InviteForm(forms.Form):
    instrument = forms.ChoiceField()
    channel = forms.ChoiceField(
        choices=[("email", "Email a single-use link"), ("portal", "Portal only")]
    )

    def __init__(self, *args: Any, instruments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = instruments  # type: ignore[attr-defined]


class KioskForm(forms.Form):
    instrument = forms.ChoiceField()

    def __init__(self, *args: Any, instruments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = instruments  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    instrument = forms.ChoiceField()
    rules = forms.MultipleChoiceField(
        choices=Rule.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, instruments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = instruments  # type: ignore[attr-defined]


class CourseForm(forms.Form):
    started_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class EndCourseForm(forms.Form):
    ended_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Ended on")


class CloseAlertForm(forms.Form):
    action = forms.ChoiceField(choices=CloseAction.choices, label="Action taken")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


def question_rows(
    definition: InstrumentDefinition, answers: Mapping[str, Answer], errors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each question ready for the template: its options, what was chosen, its error and hint."""
    rows = []
    for number, item in enumerate(definition.items, start=1):
        chosen = answers.get(item.link_id)
        if item.type == "boolean":
            options = [(YES, "Yes", chosen is True), (NO, "No", chosen is False)]
        else:
            options = [
                (
                    str(o.value),
                    o.display,
                    chosen is not None and not isinstance(chosen, bool) and chosen == o.value,
                )
                for o in item.answer_options
            ]
        hint = ""
        if item.enable_when is not None:
            target = next(
                n
                for n, i in enumerate(definition.items, start=1)
                if i.link_id == item.enable_when.item
            )
            value = item.enable_when.value
            shown = ("Yes" if value else "No") if isinstance(value, bool) else str(value)
            word = "answered" if item.enable_when.operator == "=" else "did not answer"
            hint = f"Answer only if you {word} “{shown}” to question {target}; otherwise leave it blank."
        rows.append(
            {
                "number": number,
                "item": item,
                "options": options,
                "error": errors.get(item.link_id, ""),
                "hint": hint,
                "required": item.required and item.enable_when is None,
            }
        )
    return rows


def _whole_number(raw: str, field: str) -> int | None:
    try:
        return parse_int(raw, field, min=-(10**6), max=10**6)
    except BadParameter:
        return None
