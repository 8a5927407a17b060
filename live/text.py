"""Plain text from the room: what chat messages, questions and polls accept."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, *, limit: int) -> str:
    """Plain text only: control and direction-override characters go, whitespace is squeezed.
    HTML is never interpreted: templates escape it. Anything but a string (a number, a list
    from a socket that skipped the form) is refused, never turned into text."""
    if not isinstance(text, str):
        raise ValidationError("Send text.", code="invalid")
    text = _CONTROL.sub("", text).strip()
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    if not text:
        raise ValidationError("Write something first.", code="invalid")
    if len(text) > limit:
        raise ValidationError(f"At most {limit} characters.", code="invalid")
    return text
