"""Screens for questionnaire translations: which questionnaires patients can answer in each
language, and loading a publisher's official translation file for this clinic."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm
from katclinic.measures import instrument_translations as translations

MAX_UPLOAD = 200_000


class TranslationForm(forms.Form):
    source = forms.CharField(
        label=_("Source of the official translation"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The publisher and where its text is, for example the web address."),
    )
    upload = forms.FileField(
        label=_("Translation file"),
        help_text=_(
            'A JSON file: {"key", "language", "version", "title", "description", '
            '"items": {question id: wording}, "answers": {question id: {value: wording}}}.'
        ),
    )

    def clean_upload(self) -> dict[str, Any]:
        upload = self.cleaned_data["upload"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 200 kB."))
        try:
            document = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(_("The file is not a JSON text file.")) from exc
        if not isinstance(document, dict):
            raise forms.ValidationError(_("Expected a translation document (a JSON object)."))
        return document


@staff_view(Perm.MANAGE_CLINIC)
def translation_list(request: StaffRequest) -> HttpResponse:
    rows = translations.coverage(request.clinic)
    missing = [r for r in rows if r.translation is None]
    return render(
        request,
        "measures/translation_list.html",
        {"rows": rows, "missing": missing, "form": TranslationForm()},
    )


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["POST"])
def translation_load(request: StaffRequest) -> HttpResponse:
    form = TranslationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            row = translations.store_translation(
                document=form.cleaned_data["upload"],
                source=form.cleaned_data["source"],
                clinic=request.clinic,
                by=request.user,
                request=request,
            )
        except translations.TranslationError as exc:
            form.add_error("upload", f"{exc.field}: {exc}")
        else:
            messages.success(request, _("Stored the translation %(name)s.") % {"name": row})
            return redirect("measures:translations")
    rows = translations.coverage(request.clinic)
    missing = [r for r in rows if r.translation is None]
    context = {"rows": rows, "missing": missing, "form": form}
    return render(request, "measures/translation_list.html", context, status=400)
