from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from live import selectors

register = template.Library()


@register.inclusion_tag("live/_upcoming.html", takes_context=True)
def upcoming_sessions(context: dict[str, Any]) -> dict[str, Any]:
    """The learner's next live sessions, for their dashboard (one query)."""
    user = context["user"]
    sessions = selectors.learner_upcoming(user) if user.is_authenticated else []
    now = timezone.now()
    return {"sessions": [(s, s.is_open(now)) for s in sessions]}
