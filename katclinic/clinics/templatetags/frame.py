"""Tags of the page frame (base.html)."""

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static

register = template.Library()

_static_urls: dict[str, str] = {}


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A changed setting (a test's storage or STATIC_URL) has the URLs looked up again."""
    _static_urls.clear()


@register.simple_tag
def frame_static(path: str) -> str:
    """`{% static path %}`, looked up once per process: the collected files and their
    manifest do not change while a process runs."""
    found = _static_urls.get(path)
    if found is None:
        found = _static_urls[path] = static(path)
    return found
