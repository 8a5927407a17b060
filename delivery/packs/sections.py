"""Sections: keys under a pack's units that an app above delivery reads, checks, writes and
exports, such as assessment's `tasks`.

delivery is the bottom layer, so the pack code cannot import the apps that build on it; each of
them registers a `PackSection` in its `AppConfig.ready()` instead, and the pack code calls it at
every step of its own work. A key no section claims is an unknown key, so a server without the
app refuses the key rather than half-importing the pack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from delivery.packs.specs import UNIT_KEYS

if TYPE_CHECKING:
    from delivery.models import Course, Module, Unit
    from delivery.packs.problems import Problems, Where
    from delivery.packs.reader import Reader
    from delivery.packs.result import ImportResult
    from delivery.packs.specs import PackSpec, UnitSpec

S = TypeVar("S")


class PackSection(Protocol[S]):
    """One unit-level key of the format, from pack.yaml to the database and back.

    `S` is the section's own spec, made by `read` and passed to every later step. The steps, in
    the order an import takes them:

    1. `read`: shape and types of the YAML under the key, problems added through `reader`
       (which knows file, line and key path). Return None if nothing usable could be read.
    2. `check`: rules between the section and the rest of the pack (references to criteria,
       modules ...) and the models' own rules; runs for every unit read, before anything is
       written, with every other problem of the pack, so an author sees them all at once.
    3. `check_current`: rules against the catalogue as it is, such as not deleting what
       learners' records use. Runs inside the import's transaction, after the version decision
       (a skipped import never reports them) and before any row is written.
    4. `write`: the section's rows, in the same transaction, after the units and courses.

    And `export`: the YAML value for the key (None to leave the key out), adding a problem for
    anything a pack cannot express.
    """

    key: str
    # Names of the ImportResult tallies the section counts into ("tasks", "items").
    tallies: tuple[str, ...]

    def read(self, value: Any, where: Where, reader: Reader) -> S | None: ...

    def check(self, unit: UnitSpec, spec: S, pack: PackSpec, problems: Problems) -> None: ...

    def check_current(self, unit: UnitSpec, spec: S, problems: Problems) -> None: ...

    def write(self, unit: Unit, spec: S, context: WriteContext) -> None: ...

    def export(self, unit: Unit, courses: Sequence[Course], problems: list[str]) -> Any | None: ...


@dataclass
class WriteContext:
    """What a section's `write` gets besides its unit: the pack, the modules just written, and
    the result to count into and warn through."""

    pack: PackSpec
    result: ImportResult
    # The pack's courses' modules: course code -> module key -> module.
    modules: Mapping[str, Mapping[str, Module]]

    def modules_for(self, unit_code: str) -> dict[str, list[Module]]:
        """Modules a unit's section may name, by key: those of the pack's courses with the unit
        (a key in several such courses names each of them)."""
        found: dict[str, list[Module]] = {}
        for course in self.pack.courses:
            if any(course_unit.unit == unit_code for course_unit in course.units):
                for key, module in self.modules.get(course.code, {}).items():
                    found.setdefault(key, []).append(module)
        return found

    def count(self, tally: str, *, created: bool, changed: bool) -> None:
        self.result.tallies[tally].record(created=created, changed=changed)

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)


_SECTIONS: dict[str, PackSection[Any]] = {}


def register_section(section: PackSection[Any]) -> None:
    """Make `section.key` a key of every unit. Registering a key again replaces its section
    (AppConfig.ready() may run more than once in tests)."""
    if section.key in {"code", "title", *UNIT_KEYS}:
        raise ValueError(f"{section.key!r} is a key of the format itself")
    _SECTIONS[section.key] = section


def registered_sections() -> list[PackSection[Any]]:
    """The sections, in the order they were registered (the order export writes them in)."""
    return list(_SECTIONS.values())


def unit_sections(unit: UnitSpec) -> list[tuple[PackSection[Any], Any]]:
    """The sections that read a key of `unit`, each with the spec it read, in registration
    order: what checking and writing call, step by step."""
    return [
        (section, unit.sections[section.key])
        for section in registered_sections()
        if section.key in unit.sections
    ]
