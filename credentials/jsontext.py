"""Reading JSON that strangers hand us, with a bound on nesting.

Python's JSON decoder and everything that walks a document afterwards (the schema validator,
JSON-LD canonicalisation) recurse once per level: a few kilobytes of `[[[[...` would reach the
interpreter's recursion limit and fail deep inside a request. A credential is a handful of
levels deep, so anything past `MAX_DEPTH` is refused before it is parsed, by one linear scan.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64

# A JSON string (skipped whole, brackets inside it do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """The text nests arrays or objects more deeply than a credential ever does."""


def check_depth(text: str, *, limit: int = MAX_DEPTH) -> None:
    """Raise `TooDeep` if the JSON text nests more than `limit` levels (cost: one pass)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece in "[{":
            depth += 1
            if depth > limit:
                raise TooDeep(f"nested more than {limit} levels deep (a credential is a few)")
        elif piece in "]}":
            depth -= 1


def loads(text: str, *, limit: int = MAX_DEPTH) -> Any:
    """`json.loads` for untrusted text: `TooDeep` or `json.JSONDecodeError` (both ValueError)."""
    check_depth(text, limit=limit)
    return json.loads(text)
