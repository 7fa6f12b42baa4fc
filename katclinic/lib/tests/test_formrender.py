"""The Python form renderer writes exactly the markup Django's templates write."""

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils import timezone
from django.utils.safestring import mark_safe

from katclinic.dosing import forms as dosing_forms
from katclinic.lib.formrender import FastRenderer
from katclinic.testing import ClinicTestCase


class Everything(forms.Form):
    required_css_class = "required"
    error_css_class = "has-error"

    name = forms.CharField(label="Name?", max_length=20, help_text="As on the <ID> card")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    dose = forms.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"))
    count = forms.IntegerField(label="", required=False)
    when = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    agreed = forms.BooleanField(required=False)
    kind = forms.ChoiceField(choices=[("", "—"), ("a", "A & B"), ("c", mark_safe("<b>C</b>"))])
    grouped = forms.ChoiceField(
        choices=[("Group 1", [("1", "One"), ("2", "Two")]), ("3", "Three")], required=False
    )
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], required=False)
    radio = forms.ChoiceField(
        choices=[("r", "R"), ("s", "S")], widget=forms.RadioSelect, required=False
    )
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    mail = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("name") == "both":
            raise forms.ValidationError("Name and note disagree.")
        return data


def hidden_only() -> type[forms.Form]:
    return type("HiddenOnly", (forms.Form,), {"a": forms.CharField(widget=forms.HiddenInput)})


class FastRendererTest(ClinicTestCase):
    def assertSameMarkup(self, make: Any) -> None:
        expected = str(make(DjangoTemplates()))
        self.assertEqual(str(make(FastRenderer())), expected)
        self.assertIn("<", expected)

    def test_an_unbound_form_with_every_standard_widget(self) -> None:
        initial = {
            "name": 'O"Brien <x>',
            "when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            "agreed": True,
        }
        self.assertSameMarkup(lambda r: Everything(initial=initial, renderer=r))
        self.assertSameMarkup(lambda r: Everything(auto_id=False, renderer=r))
        self.assertSameMarkup(lambda r: Everything(prefix="p", renderer=r))

    def test_a_bound_form_with_field_form_and_hidden_field_errors(self) -> None:
        data = {"name": "both", "dose": "-1", "when": "soon", "kind": "zz", "secret": "s"}
        self.assertSameMarkup(lambda r: Everything(data, renderer=r))
        other: dict[str, Any] = {"name": "x" * 30, "note": "<script>&", "dose": "2.5"}
        other |= {"kind": "a", "many": ["y"]}
        self.assertSameMarkup(lambda r: Everything(other, renderer=r))
        self.assertSameMarkup(lambda r: Everything({"name": "ok", "dose": "1"}, renderer=r))

    def test_a_form_of_hidden_fields_only_with_and_without_errors(self) -> None:
        form = hidden_only()
        self.assertSameMarkup(lambda r: form(renderer=r))
        self.assertSameMarkup(lambda r: form({}, renderer=r))

    def test_fields_and_widgets_on_their_own(self) -> None:
        self.assertSameMarkup(lambda r: Everything({"dose": "x"}, renderer=r)["dose"].errors)
        self.assertSameMarkup(lambda r: Everything(renderer=r)["kind"].label_tag())
        self.assertSameMarkup(lambda r: Everything(renderer=r)["radio"].legend_tag())
        self.assertSameMarkup(lambda r: Everything(renderer=r)["grouped"].as_field_group())
        self.assertSameMarkup(lambda r: Everything(renderer=r).as_p())
        self.assertSameMarkup(lambda r: Everything(renderer=r).as_table())

    def test_the_dosing_forms_unbound_and_refused(self) -> None:
        today = timezone.localtime()
        built = 0
        for name, form in inspect.getmembers(dosing_forms, inspect.isclass):
            if not issubclass(form, forms.BaseForm) or form.__module__ != dosing_forms.__name__:
                continue
            wants = set(inspect.signature(form).parameters)
            if {"patient", "session", "labels", "initial_data"} & wants:
                continue
            more = {"clinic": self.clinic} if "clinic" in wants else {}
            with self.subTest(form=name):
                initial = {"started_at": today, "on": date(2026, 3, 1), "dose_mg": Decimal(25)}
                self.assertSameMarkup(
                    lambda r, f=form, i=initial, m=more: f(initial=i, renderer=r, **m)
                )
                self.assertSameMarkup(
                    lambda r, f=form, m=more: f({"reason": "<b>"}, renderer=r, **m)
                )
                built += 1
        labels = ["pre-dose", "+40 min"]
        self.assertSameMarkup(lambda r: dosing_forms.CheckpointForm(labels=labels, renderer=r))
        self.assertSameMarkup(
            lambda r: dosing_forms.CheckpointForm({"spo2": "200"}, labels=labels, renderer=r)
        )
        self.assertGreater(built, 5)
