"""Reading a YAML tree with every problem reported: the shapes (mappings, lists) and scalars
(text, numbers, choices, slugs, paths in the pack) that every key of the format is made of.

`delivery.packs.schema` reads the format's own keys with these; a section (delivery.packs.
sections) gets the same `Reader` for its key, so its problems read like the rest.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any, TypeVar

from delivery.packs.problems import Problems, Where
from delivery.packs.yamltree import YamlList, YamlMap

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
WHOLE_NUMBER = re.compile(r"^[0-9]+$")

T = TypeVar("T")


def describe_value(value: Any) -> str:
    """A value as a problem quotes it: its kind for mappings and lists, else its text, cut."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def safe_pack_path(path: str) -> str | None:
    """`path` normalised as a member of the pack, or None when it would leave the pack."""
    if not path or "\\" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None
    parts = [part for part in PurePosixPath(path).parts if part != "."]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


class Reader:
    """Reads values of a pack.yaml tree, adding a problem for everything wrong; each method
    returns None (having said why) when the value is unusable.

    `delivery.packs.schema.PackReader` adds the format's own keys; sections
    (delivery.packs.sections) read theirs with these methods, so their problems read like the
    rest.
    """

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        # Keys of the lists from which an item was left out for its problems.
        self.dropped: set[str] = set()

    # Shapes

    def mapping(
        self,
        value: Any,
        where: Where,
        *,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        hints: Mapping[str, str] | None = None,
    ) -> tuple[YamlMap, Where] | None:
        if not isinstance(value, YamlMap):
            self.problems.add(
                where, f"must be a mapping of keys to values, not {describe_value(value)}"
            )
            return None
        here = Where(where.path, value.line, value.key_lines)
        allowed = required + optional
        for key in value:
            if key not in allowed:
                hint = (hints or {}).get(key, "")
                if not hint:
                    close = difflib.get_close_matches(key, allowed, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problems.add(here.at(key), f"unknown key {key!r}{hint}")
        for key in required:
            if key not in value:
                self.problems.add(here, f"missing required key {key!r}")
        return value, here

    def items(self, m: YamlMap, here: Where, key: str) -> list[tuple[Any, Where]]:
        """(item, where) for each item of the list under `key` (an empty value: no items)."""
        return self.list_items(m.get(key), here.at(key))

    def list_items(self, value: Any, where: Where) -> list[tuple[Any, Where]]:
        """(item, where) for each item of the list `value` found at `where` (None: no items)."""
        if value is None:
            return []
        if not isinstance(value, YamlList):
            self.problems.add(
                where, f"must be a list (lines starting with '- '), not {describe_value(value)}"
            )
            return []
        return [
            (item, Where(f"{where.path}[{index}]", line))
            for index, (item, line) in enumerate(zip(value, value.item_lines, strict=True))
        ]

    def each(
        self, m: YamlMap, here: Where, key: str, read: Callable[[Any, Where], T | None]
    ) -> list[T]:
        """The items under `key` read with `read`, leaving out (and noting) unreadable ones."""
        specs = []
        for item, where in self.items(m, here, key):
            spec = read(item, where)
            if spec is None:
                self.dropped.add(key)
            else:
                specs.append(spec)
        return specs

    # Scalars: each returns None (having said why) when the value is unusable.

    def text(self, m: YamlMap, here: Where, key: str, *, required: bool = False) -> str | None:
        value = m.get(key)
        if value is None:
            if required and key in m:
                self.problems.add(here.at(key), "must not be empty")
                return None
            return None if required else ""
        return self.text_value(value, here.at(key), required=required)

    def text_value(self, value: Any, where: Where, *, required: bool = True) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problems.add(where, f"must be text, not {describe_value(value)}")
            return None
        text = str(value)
        if required and not text.strip():
            self.problems.add(where, "must not be empty")
            return None
        return text

    def line_text(self, m: YamlMap, here: Where, key: str, *, required: bool = False) -> str | None:
        """Text on one line (codes, titles, addresses): surrounding space dropped."""
        text = self.text(m, here, key, required=required)
        if text is None:
            return None
        if "\n" in text.strip():
            self.problems.add(here.at(key), "must be on one line")
            return None
        return text.strip()

    def number(
        self, m: YamlMap, here: Where, key: str, *, required: bool = False, minimum: int = 0
    ) -> int | None:
        value = m.get(key)
        if value is None:
            if required and key in m:
                self.problems.add(here.at(key), "must not be empty")
            return None
        return self.number_value(value, here.at(key), minimum=minimum)

    def number_value(self, value: Any, where: Where, *, minimum: int = 0) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and WHOLE_NUMBER.match(value.strip()):
            number = int(value.strip())
        else:
            self.problems.add(where, f"must be a whole number, not {describe_value(value)}")
            return None
        if number < minimum:
            self.problems.add(where, f"must be at least {minimum}, not {number}")
            return None
        return number

    def flag(self, m: YamlMap, here: Where, key: str, *, default: bool = False) -> bool | None:
        """`true` or `false` (read as text, like every value); `default` when not given."""
        value = m.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip() in ("true", "false"):
            return value.strip() == "true"
        self.problems.add(here.at(key), f"must be true or false, not {describe_value(value)}")
        return None

    def choice(
        self, m: YamlMap, here: Where, key: str, choices: list[str], *, default: str | None = None
    ) -> str | None:
        text = self.line_text(m, here, key, required=default is None)
        if text is None or (text == "" and default is not None):
            return default if text is not None else None
        if text not in choices:
            self.problems.add(
                here.at(key), f"must be one of {', '.join(choices)}, not {describe_value(text)}"
            )
            return None
        return text

    def slug(self, m: YamlMap, here: Where, key: str) -> str | None:
        text = self.line_text(m, here, key, required=True)
        if text is not None and not SLUG.match(text):
            self.problems.add(
                here.at(key),
                f"{text!r} must be letters, digits, hyphens and underscores only",
            )
            return None
        return text

    def path(self, m: YamlMap, here: Where, key: str) -> str | None:
        text = self.line_text(m, here, key)
        if not text:
            return text
        safe = safe_pack_path(text)
        if safe is None:
            self.problems.add(
                here.at(key),
                f"{text} is outside the pack (give a path relative to pack.yaml, "
                "without '..' and not starting with '/')",
            )
        return safe
