"""The Unique Student Identifier (USI), without which an Australian RTO cannot certify.

A USI is 10 characters from a 32-character set (digits 2-9 and the capital letters but I and O,
so no character can be misread as another); the tenth is a check character computed over the
first nine with the Luhn mod N algorithm on that set (USI Registry System, "USI check digit
algorithm", as published to training organisations' software vendors). A typing mistake in one
character, or two neighbours swapped, gives a USI whose check character does not match.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

CHARACTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 10


def check_character(payload: str) -> str:
    """The Luhn mod N check character of `payload` (the first nine characters)."""
    n = len(CHARACTERS)
    factor, total = 2, 0
    for char in reversed(payload):
        addend = factor * CHARACTERS.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return CHARACTERS[(n - total % n) % n]


def normalise_usi(value: str) -> str:
    """As people type it: spaces and dashes dropped, lower case raised."""
    return "".join(value.split()).replace("-", "").upper()


def validate_usi(value: str) -> None:
    """Raise ValidationError, in words, unless `value` (normalised) is a well-formed USI."""
    if len(value) != LENGTH:
        raise ValidationError(
            f"A Unique Student Identifier has {LENGTH} characters; this one has {len(value)}.",
            code="usi_length",
        )
    wrong = sorted({char for char in value if char not in CHARACTERS})
    if wrong:
        shown = ", ".join(f"“{char}”" for char in wrong)
        raise ValidationError(
            f"A Unique Student Identifier uses only the digits 2 to 9 and the letters A to Z "
            f"but I and O; this one has {shown}.",
            code="usi_characters",
        )
    if check_character(value[:-1]) != value[-1]:
        raise ValidationError(
            "That is not a valid Unique Student Identifier: its last character does not match "
            "the others. Check it for a mistyped character.",
            code="usi_check",
        )
