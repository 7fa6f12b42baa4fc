"""Putting a service's refusal on the form that asked for the change."""

from __future__ import annotations

from typing import Protocol

from django import forms


class FieldError(Protocol):
    """A service error that names the field it is about ("" for the whole form)."""

    field: str


def refuse(form: forms.Form, error: FieldError) -> None:
    """Show `error` at its field when the form has that field, otherwise above the form."""
    form.add_error(error.field if error.field in form.fields else None, str(error))
