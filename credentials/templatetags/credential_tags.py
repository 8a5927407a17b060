"""Dates and sentences as the credential pages show them, the same on every page."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def moment(value: datetime | None, fmt: str = "j F Y") -> SafeString | str:
    """`<time>` showing the day in the provider's time zone (the public page and the verify
    answer agree), with the exact UTC instant in `datetime` and on hover (`title`)."""
    if value is None:
        return ""
    utc = value.astimezone(UTC) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.isoformat().replace("+00:00", "Z"),
        date_format(utc, "j F Y, H:i"),
        date_format(timezone.localtime(value) if timezone.is_aware(value) else value, fmt),
    )


@register.filter
def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (or its own ! or ?): a reason someone typed
    with a full stop is not given a second one."""
    text = str(text).strip()
    if not text or text[-1] in ".!?…":
        return text
    return text + "."
