"""Template filters that turn stored keys into the words a clinician reads."""

from django import template

from katclinic.clinics.registry import REGISTRY

register = template.Library()


@register.filter
def setting_label(key: str) -> str:
    """A clinic setting's plain-language label ("Baseline systolic limit"), never its key."""
    definition = REGISTRY.get(key)
    return str(definition.label) if definition is not None else in_words(key)


@register.filter
def in_words(key: str) -> str:
    """A stored code such as "needs_review" as words: "Needs review"."""
    text = str(key).replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]
