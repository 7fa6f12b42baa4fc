"""Integer cents shown as dollars."""

from django import template

register = template.Library()


@register.filter
def dollars(cents: int | None) -> str:
    value = int(cents or 0)
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 100)
    return f"{sign}${whole:,}.{part:02d}"
