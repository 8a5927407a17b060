"""Pack sections: top-level keys of pack.yaml (beside `units` and `courses`) that an app above
delivery reads, checks, writes and exports, such as the catalogue's `pathways`.

The same idea as delivery.packs.sections (unit-level keys), one level up: delivery is the
bottom layer, so each app registers a `TopSection` in its `AppConfig.ready()` and the pack
code calls it at each step. A key no section claims is an unknown key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from delivery.models import Course, Unit
    from delivery.packs.problems import Problems, Where
    from delivery.packs.reader import Reader
    from delivery.packs.result import ImportResult
    from delivery.packs.specs import PackSpec

S = TypeVar("S")

# The format's own top-level keys.
FORMAT_KEYS = ("format", "pack", "units", "courses")


class TopSection(Protocol[S]):
    """One top-level key, from pack.yaml to the database and back.

    1. `read`: shape and types of the YAML under the key (problems through `reader`, which
       knows file, line and key path); None if nothing usable could be read.
    2. `check`: rules against the rest of the pack and the catalogue as it is, with every
       other problem of the pack, before anything is written. Reads only.
    3. `write`: the section's rows, in the import's transaction, after units and courses.

    And `export`: the YAML value for the key given the exported courses and units (None to
    leave the key out), adding a problem for anything a pack cannot express.
    """

    key: str
    tallies: tuple[str, ...]

    def read(self, value: Any, where: Where, reader: Reader) -> S | None: ...

    def check(self, spec: S, pack: PackSpec, problems: Problems) -> None: ...

    def write(self, spec: S, context: TopWriteContext) -> None: ...

    def export(
        self, courses: Sequence[Course], units: Sequence[Unit], problems: list[str]
    ) -> Any | None: ...


@dataclass
class TopWriteContext:
    pack: PackSpec
    result: ImportResult

    def count(self, tally: str, *, created: bool, changed: bool) -> None:
        self.result.tallies[tally].record(created=created, changed=changed)

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)


_SECTIONS: dict[str, TopSection[Any]] = {}


def register_pack_section(section: TopSection[Any]) -> None:
    """Make `section.key` a top-level key of pack.yaml. Registering a key again replaces its
    section (AppConfig.ready() may run more than once in tests)."""
    if section.key in FORMAT_KEYS:
        raise ValueError(f"{section.key!r} is a key of the format itself")
    _SECTIONS[section.key] = section


def registered_pack_sections() -> list[TopSection[Any]]:
    return list(_SECTIONS.values())


def pack_sections(pack: PackSpec) -> list[tuple[TopSection[Any], Any]]:
    """The sections that read a key of `pack`, each with the spec it read."""
    return [
        (section, pack.sections[section.key])
        for section in registered_pack_sections()
        if section.key in pack.sections
    ]
