"""A form renderer that writes Django's standard form markup in Python.

Django renders every form, field, label, error list and widget through its template engine;
on a page with a few forms that was over a quarter of the request. `FastRenderer` produces
the same markup, character for character, for the standard templates (the ``div`` form
layout, the field group, labels, error lists, inputs, selects and text areas) and hands
every other template (radio and checkbox groups, multi-widgets, a project's own templates)
to the template engine as before. `katclinic/lib/tests/test_formrender.py` compares the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

WIDGETS = "django/forms/widgets/"
INPUTS = frozenset(
    WIDGETS + name + ".html"
    for name in (
        "input checkbox color date datetime email hidden number password search tel text time url"
    ).split()
)


def _text(value: Any) -> str:
    """`{{ value }}`: localized and escaped unless already safe."""
    shown = localize(template_localtime(value))
    return str(conditional_escape(shown if isinstance(shown, str) else str(shown)))


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: the filter keeps a safe value safe."""
    shown = str(value)
    return shown if isinstance(value, SafeData) else escape(shown)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """django/forms/attrs.html and widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(out)


def _input(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def _option(option: Mapping[str, Any]) -> str:
    return (
        f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>\n"
    )


def _select(widget: Mapping[str, Any]) -> str:
    out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, choices, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        out.extend(f"\n  {_option(option)}" for option in choices)
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def _textarea(widget: Mapping[str, Any]) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def _label(context: Mapping[str, Any]) -> str:
    if not context["use_tag"]:
        return _text(context["label"])
    tag = _text(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{_text(context['label'])}</{tag}>"


def _errors(errors: Any) -> str:
    """errors/list/ul.html, for a field's or the form's error list."""
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    ident = f' id="{_text(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_text(e)}</li>" for e in errors)
    return f'<ul class="{_text(errors.error_class)}"{ident}>{items}</ul>'


def _field(field: Any) -> str:
    """django/forms/field.html."""
    if field.use_fieldset:
        described = field.aria_describedby
        aria = f' aria-describedby="{_text(described)}"' if described else ""
        label = str(field.legend_tag()) if field.label else ""
        head = f"<fieldset{aria}>\n  {label}\n"
    else:
        head = f"\n  {field.label_tag() if field.label else ''}\n"
    help_text = ""
    if field.help_text:
        ident = f' id="{_text(field.auto_id)}_helptext"' if field.auto_id else ""
        help_text = f'<div class="helptext"{ident}>{field.help_text}</div>'
    close = "</fieldset>" if field.use_fieldset else ""
    return f"{head}\n{help_text}\n{_text(field.errors)}\n{_text(field)}{close}"


def _hidden(fields: Iterable[Any]) -> str:
    return "".join(_text(f) for f in fields)


def _form(context: Mapping[str, Any]) -> str:
    """django/forms/div.html."""
    errors, fields, hidden = context["errors"], context["fields"], context["hidden_fields"]
    out = [f"{_text(errors)}\n"]
    if errors and not fields:
        out.append(f"\n  <div>{_hidden(hidden)}</div>\n")
    out.append("\n")
    for number, (field, _errs) in enumerate(fields, start=1):
        classes = field.css_classes()
        css = f' class="{_text(classes)}"' if classes else ""
        last = f"\n      {_hidden(hidden)}\n    " if number == len(fields) else ""
        out.append(f"\n  <div{css}>\n    {field.as_field_group()}\n    {last}\n</div>\n")
    out.append("\n")
    if not fields and not errors:
        out.append(f"\n  {_hidden(hidden)}\n")
    return "".join(out)


WRITERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "django/forms/div.html": _form,
    "django/forms/field.html": lambda c: _field(c["field"]),
    "django/forms/label.html": _label,
    "django/forms/errors/list/default.html": lambda c: _errors(c["errors"]),
    "django/forms/errors/list/ul.html": lambda c: _errors(c["errors"]),
    WIDGETS + "select.html": lambda c: _select(c["widget"]),
    WIDGETS + "textarea.html": lambda c: _textarea(c["widget"]),
} | dict.fromkeys(INPUTS, lambda c: _input(c["widget"]))


class FastRenderer(DjangoTemplates):
    """Django's template form renderer, with the standard templates written in Python."""

    def render(self, template_name: str, context: Any, request: Any = None) -> str:
        writer = WRITERS.get(template_name)
        if writer is None:
            return super().render(template_name, context, request)
        return writer(context).strip()
