"""Names for the few queries written as SQL by hand, read from the models so that a renamed
table or column follows. Hand-written SQL is kept to hot paths where building the ORM's query
cost more than the rest of the request's work (measured in the docstring of each use)."""

from __future__ import annotations

from typing import Any

from django.db import connection


def table(meta: Any) -> str:
    return str(connection.ops.quote_name(meta.db_table))


def column(meta: Any, name: str) -> str:
    """A concrete field's column, quoted."""
    field = meta.get_field(name)
    if not field.column:
        raise ValueError(f"{meta.label}.{name} has no column")
    return str(connection.ops.quote_name(field.column))
