"""The `<id:...>` path converter every URL with a row's primary key uses.

Django's `<int:...>` matches any run of digits, and a 20-digit id then fails in the database
(OverflowError on SQLite, out of range on PostgreSQL): a 500 for a mistyped or hostile URL. An
id no bigint column can hold names no row, so here it matches nothing and the URL is a 404.
"""

from __future__ import annotations

from django.urls import register_converter

# The largest value of a BigAutoField (a signed 64-bit integer), every table's primary key.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """`value` as a row id (1 .. MAX_ID, ASCII digits only), or None. Query parameters that
    name rows go through this (or forms.IdField) so a hostile one is ignored, not a 500."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # the resolver tries the next pattern, then answers 404
        return number

    def to_url(self, value: int | str) -> str:
        number = int(value)
        if not 0 <= number <= MAX_ID:
            raise ValueError(value)  # reverse() then finds no match
        return str(number)


def register() -> None:
    register_converter(IdConverter, "id")
