"""Problems with a pack, and where they are: collected rather than raised one at a time, so an
author fixes a pack in one pass. Each names pack.yaml, the line and the key path
(`courses[0].units[1].modules[2].title`), because "invalid pack" on a 600-line file helps nobody.

Every other module of the package reports through these, and so do the sections of apps above
delivery (delivery.packs.sections), so that all problems read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

PACK_FILE = "pack.yaml"


class PackError(ValidationError):
    """A pack that cannot be imported (or exported), with every problem found, one per line.

    A ValidationError, so callers that already report those (forms, services) need nothing new.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class Where:
    """A place in pack.yaml: the key path and the line it starts on."""

    path: str
    line: int | None
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def at(self, key: str) -> Where:
        return Where(_join(self.path, key), self.key_lines.get(key, self.line))

    def describe(self) -> str:
        line = f" line {self.line}" if self.line is not None else ""
        path = f" ({self.path})" if self.path else ""
        return f"{PACK_FILE}{line}{path}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Problems:
    """Problems found so far, reported in line order."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, str]] = []

    def add(self, where: Where, message: str) -> None:
        self._items.append((where.line or 0, len(self._items), f"{where.describe()}: {message}"))

    def add_text(self, text: str) -> None:
        """A problem outside pack.yaml (the zip itself), reported before the rest."""
        self._items.append((-1, len(self._items), text))

    def __len__(self) -> int:
        return len(self._items)

    def messages(self) -> list[str]:
        return [text for _, _, text in sorted(self._items)]

    def raise_if_any(self) -> None:
        if self._items:
            raise PackError(self.messages())


def check_unique(
    values: list[tuple[Any, Where]], what: str, scope: str, problems: Problems
) -> None:
    """A problem at each repeat of a value: "`what` `value` is repeated`scope` (first at ...)"."""
    first: dict[Any, Where] = {}
    for value, where in values:
        if value in first:
            problems.add(
                where, f"{what} {value} is repeated{scope} (first at line {first[value].line})"
            )
        else:
            first[value] = where
