from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from delivery.content import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str) -> SafeString:
    """Markdown rendered and sanitised (see delivery/content.py)."""
    return render_markdown(source)


@register.filter
def duration(minutes: int) -> str:
    """45 -> "45 min", 90 -> "1 h 30 min"."""
    hours, rest = divmod(int(minutes or 0), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
