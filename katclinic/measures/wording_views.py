"""Screens for a clinic's licensed questionnaire wording: which instruments need it, and an
edit (or file upload) screen with the licence holder and reference, previewed as patients
will see the questions before it is stored."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.measures import wording
from katclinic.measures.forms import question_rows
from katclinic.measures.scoring import InstrumentDefinition

MAX_UPLOAD = 200_000


def _wording_file(upload: UploadedFile) -> tuple[dict[str, str], str]:
    """The uploaded wording by question id, or what is wrong with the file."""
    if upload.size is not None and upload.size > MAX_UPLOAD:
        return {}, "The file is larger than 200 kB."
    try:
        parsed = json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}, "The file is not a JSON text file."
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        return {}, 'Expected {"question id": "wording", ...}.'
    return parsed, ""


class WordingForm(forms.Form):
    holder = forms.CharField(
        label="Licence holder",
        max_length=200,
        help_text="The organisation the licence is issued to.",
    )
    reference = forms.CharField(
        label="Licence reference",
        max_length=200,
        help_text="Licence number or agreement reference.",
    )
    upload = forms.FileField(
        label="Wording file (optional)",
        required=False,
        help_text='A JSON file of the form {"q1": "wording of question 1", ...}; it fills the '
        "questions below.",
    )

    def __init__(self, *args: Any, definition: InstrumentDefinition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item_names = []
        for number, item in enumerate(definition.items, start=1):
            self.fields[item.link_id] = forms.CharField(
                label=f"Question {number}",
                help_text=item.text,
                max_length=wording.MAX_ITEM_TEXT,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.item_names.append(item.link_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload is not None:
            parsed, problem = _wording_file(upload)
            if problem:
                self.add_error("upload", problem)
                return data
            unknown = sorted(set(parsed) - set(self.item_names))
            if unknown:
                self.add_error("upload", f"Unknown question ids: {', '.join(unknown)}.")
                return data
            for link_id, text in parsed.items():
                if len(text) > wording.MAX_ITEM_TEXT:
                    self.add_error("upload", f"The wording of {link_id} is too long.")
                    return data
                data[link_id] = text
        for link_id in self.item_names:
            if not str(data.get(link_id, "")).strip() and link_id not in self.errors:
                self.add_error(link_id, "Give the licensed wording of this question.")
        return data

    def wording(self) -> dict[str, str]:
        return {link_id: self.cleaned_data[link_id] for link_id in self.item_names}


def _shipped(key: str) -> InstrumentDefinition:
    definition = wording.needs_licence().get(key)
    if definition is None:
        raise Http404("no such questionnaire")
    return definition


@staff_view(Perm.MANAGE_CLINIC)
def wording_list(request: StaffRequest) -> HttpResponse:
    rows = wording.licensed_instruments(request.clinic)
    return render(request, "measures/wording_list.html", {"rows": rows})


def _current(request: StaffRequest, key: str) -> wording.LicensedInstrument | None:
    return next(
        (r for r in wording.licensed_instruments(request.clinic) if r.shipped.key == key), None
    )


def _initial(current: wording.LicensedInstrument | None) -> dict[str, str]:
    """The clinic's stored wording, to start the form from."""
    if current is not None and current.clinic_definition is not None:
        return {item.link_id: item.text for item in current.clinic_definition.items}
    return {}


def _save(request: StaffRequest, form: WordingForm, key: str) -> HttpResponse | None:
    """Store the wording and go back to the list; None, with the error on the form, if refused."""
    data = form.cleaned_data
    try:
        row = wording.store_clinic_wording(
            clinic=request.clinic,
            key=key,
            wording=form.wording(),
            holder=data["holder"],
            reference=data["reference"],
            by=request.user,
            request=request,
        )
    except wording.WordingError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return None
    messages.success(request, f"Stored the licensed wording of {row.title}.")
    return redirect("measures:wording")


def _preview(
    request: StaffRequest, form: WordingForm, key: str, shipped: InstrumentDefinition
) -> HttpResponse:
    data = form.cleaned_data
    definition = wording.preview_definition(key, form.wording())
    # The preview carries what was entered (an upload included) to the save step.
    carried = WordingForm({**{k: v for k, v in data.items() if k != "upload"}}, definition=shipped)
    return render(
        request,
        "measures/wording_preview.html",
        {
            "definition": definition,
            "questions": question_rows(definition, {}, {}),
            "form": carried,
            "key": key,
            "holder": data["holder"],
            "reference": data["reference"],
        },
    )


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def wording_edit(request: StaffRequest, key: str) -> HttpResponse:
    shipped = _shipped(key)
    current = _current(request, key)
    post = request.POST if request.method == "POST" else None
    form = WordingForm(post, request.FILES or None, initial=_initial(current), definition=shipped)
    step = request.POST.get("step", "")
    if post is not None and form.is_valid() and step != "edit":
        if step != "save":
            return _preview(request, form, key, shipped)
        saved = _save(request, form, key)
        if saved is not None:
            return saved
    status = 400 if form.errors else 200
    return render(
        request,
        "measures/wording_edit.html",
        {"form": form, "shipped": shipped, "current": current},
        status=status,
    )
