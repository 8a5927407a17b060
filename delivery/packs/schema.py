"""The flipside-pack/1 format: pack.yaml read into typed specs, and every rule that needs
neither the database nor the pack's files (those are in `delivery.packs.importer`).

Errors are collected rather than raised one at a time, so an author fixes a pack in one pass;
each names pack.yaml, the line and the key path (`courses[0].units[1].modules[2].title`),
because "invalid pack" on a 600-line file helps nobody.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, TypeVar

import yaml
from django.core.exceptions import ValidationError

from delivery.models import Course, Resource, Unit
from delivery.packs.sections import PackSection, registered_sections

FORMAT = "flipside-pack/1"
PACK_FILE = "pack.yaml"

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
CRITERION_NUMBER = re.compile(r"^([0-9]+)\.([0-9]+)$")
WHOLE_NUMBER = re.compile(r"^[0-9]+$")

T = TypeVar("T")

# For a `tasks` key when no section reads it (see delivery.packs.sections).
TASKS_HINT = " (this server reads assessment tasks only with its assessment app installed)"


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


# YAML with line numbers ----------------------------------------------------------------------


class YamlMap(dict[str, Any]):
    """A mapping from pack.yaml that remembers where it and each of its keys are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class YamlList(list[Any]):
    """A sequence from pack.yaml that remembers the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _PackLoader(yaml.SafeLoader):
    """SafeLoader whose plain scalars all stay text, except null (empty, ~, null).

    YAML 1.1 would read criterion `1.10` as the float 1.1, unit version `2.0` as 2.0 and
    `status: no` as False; here every value is the text the author wrote, and the format reads
    numbers where it wants them. Aliases are refused: nothing needs them, and they let a tiny
    file expand into an enormous tree.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported in a content pack", mark
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YamlMap:
    result = YamlMap(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark
            )
        key = str(key_node.value)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice in one mapping (first at line {result.key_lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(node.start_mark.line + 1)
    for child in node.value:
        result.append(loader.construct_object(child, deep=True))
        result.item_lines.append(child.start_mark.line + 1)
    return result


# Its own resolver table (add_implicit_resolver copies the parent's unless there is one): null only.
_PackLoader.yaml_implicit_resolvers = {}
_PackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_PackLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_PackLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(raw: bytes) -> Any:
    """pack.yaml's tree of YamlMap, YamlList, str and None; PackError for bad syntax."""
    loader = _PackLoader(raw)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or "not valid YAML"
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise PackError(f"{PACK_FILE}{where}: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{PACK_FILE}: not readable as YAML: {exc}") from None
    finally:
        loader.dispose()


# Specs ---------------------------------------------------------------------------------------


@dataclass
class CriterionSpec:
    number: str
    text: str
    where: Where


@dataclass
class ElementSpec:
    number: int
    title: str
    criteria: list[CriterionSpec]
    where: Where


@dataclass
class EvidenceSpec:
    text: str
    where: Where


@dataclass
class UnitSpec:
    code: str
    title: str
    version: str
    status: str
    description: str
    assessment_conditions: str
    elements: list[ElementSpec]
    knowledge_evidence: list[EvidenceSpec]
    performance_evidence: list[EvidenceSpec]
    where: Where
    # Keys read by registered sections (`tasks`), each with the section and its spec.
    sections: list[tuple[PackSection[Any], Any]] = field(default_factory=list)
    # False when an element, criterion or evidence item could not be read and is missing here:
    # then a reference to one (an item's mapping) cannot be told wrong.
    complete: bool = True

    def criterion_numbers(self) -> set[str]:
        return {c.number for element in self.elements for c in element.criteria}


@dataclass
class ResourceSpec:
    key: str
    title: str
    kind: str
    minutes: int
    body: str
    file: str
    captions: str
    embed_url: str
    url: str
    where: Where


@dataclass
class ModuleSpec:
    key: str
    title: str
    summary: str
    requires: list[tuple[str, Where]]
    resources: list[ResourceSpec]
    where: Where


@dataclass
class CourseUnitSpec:
    unit: str
    modules: list[ModuleSpec]
    where: Where


@dataclass
class CourseSpec:
    code: str
    title: str
    kind: str
    description: str
    validity_months: int | None
    units: list[CourseUnitSpec]
    where: Where

    def modules(self) -> Iterator[ModuleSpec]:
        for course_unit in self.units:
            yield from course_unit.modules

    def has_unit(self, code: str) -> bool:
        return any(course_unit.unit == code for course_unit in self.units)


@dataclass
class PackSpec:
    id: str
    version: int
    title: str
    units: list[UnitSpec]
    courses: list[CourseSpec]
    # False when a unit or module could not be read and is missing here: then a reference
    # to one (a module's `requires`, a course's unit) cannot be told wrong.
    complete: bool = True
    # False when a course (or a course's unit) could not be read either: then neither can a
    # reference to the modules of the courses that have a unit (a task's `requires`).
    courses_complete: bool = True

    def file_references(self) -> Iterator[tuple[str, Where]]:
        """Every file the pack refers to, with where it does."""
        for course in self.courses:
            for module in course.modules():
                for resource in module.resources:
                    if resource.file:
                        yield resource.file, resource.where.at("file")
                    if resource.captions:
                        yield resource.captions, resource.where.at("captions")


# Reading the tree ----------------------------------------------------------------------------

UNIT_KEYS = (
    "version",
    "elements",
    "status",
    "description",
    "assessment_conditions",
    "knowledge_evidence",
    "performance_evidence",
)
RESOURCE_KEYS = ("minutes", "body", "file", "captions", "embed_url", "url")


def _describe(value: Any) -> str:
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
    """Reads one pack.yaml tree into specs, adding a problem for everything wrong.

    Sections (delivery.packs.sections) read their keys with its methods, so their problems
    read like the rest.
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
            self.problems.add(where, f"must be a mapping of keys to values, not {_describe(value)}")
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
                where, f"must be a list (lines starting with '- '), not {_describe(value)}"
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
            self.problems.add(where, f"must be text, not {_describe(value)}")
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
            self.problems.add(where, f"must be a whole number, not {_describe(value)}")
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
        self.problems.add(here.at(key), f"must be true or false, not {_describe(value)}")
        return None

    def choice(
        self, m: YamlMap, here: Where, key: str, choices: list[str], *, default: str | None = None
    ) -> str | None:
        text = self.line_text(m, here, key, required=default is None)
        if text is None or (text == "" and default is not None):
            return default if text is not None else None
        if text not in choices:
            self.problems.add(
                here.at(key), f"must be one of {', '.join(choices)}, not {_describe(text)}"
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

    # The format

    def pack(self, data: Any) -> PackSpec | None:
        if data is None:
            self.problems.add(Where("", None), "is empty")
            return None
        found = self.mapping(
            data, Where("", 1), required=("format", "pack"), optional=("units", "courses")
        )
        if found is None:
            return None
        m, here = found
        if "format" in m:
            declared = m["format"]
            if declared != FORMAT:
                self.problems.add(
                    here.at("format"),
                    f"unsupported format {_describe(declared)}: this server reads {FORMAT}",
                )
                return None
        header = None
        if "pack" in m:  # (when it is not, the missing key is reported already)
            header = self.mapping(m["pack"], here.at("pack"), required=("id", "version", "title"))
        pack_id, version, title = None, None, None
        if header is not None:
            hm, hhere = header
            pack_id = self.slug(hm, hhere, "id")
            version = self.number(hm, hhere, "version", required=True, minimum=1)
            title = self.line_text(hm, hhere, "title", required=True)
        units = self.each(m, here, "units", self.unit)
        courses = self.each(m, here, "courses", self.course)
        if not m.get("units") and not m.get("courses"):
            self.problems.add(here, "a pack needs some units or courses (or both)")
        # A partial spec (broken items left out) still goes through the later rules, so one run
        # reports as much as it can; the caller raises since problems are not empty.
        return PackSpec(
            id=pack_id or "",
            version=version or 0,
            title=title or "",
            units=units,
            courses=courses,
            # Only a missing unit or module can make a reference to it look wrong.
            complete=not self.dropped & {"units", "modules"},
            courses_complete=not self.dropped & {"courses", "units", "modules"},
        )

    def unit(self, value: Any, where: Where) -> UnitSpec | None:
        sections = {section.key: section for section in registered_sections()}
        found = self.mapping(
            value,
            where,
            required=("code", "title"),
            optional=UNIT_KEYS + tuple(sections),
            hints={} if "tasks" in sections else {"tasks": TASKS_HINT},
        )
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        code = self.line_text(m, here, "code", required=True)
        title = self.line_text(m, here, "title", required=True)
        version = self.line_text(m, here, "version") or "1"
        status = self.choice(m, here, "status", Unit.Status.values, default=Unit.Status.CURRENT)
        description = self.text(m, here, "description")
        conditions = self.text(m, here, "assessment_conditions")
        failed = len(self.problems) > before  # (a broken element or item is left out alone)
        elements = self.each(m, here, "elements", self.element)
        evidence = {
            kind: [
                EvidenceSpec(text.strip(), item_where)
                for item, item_where in self.items(m, here, kind)
                if (text := self.text_value(item, item_where)) is not None
            ]
            for kind in ("knowledge_evidence", "performance_evidence")
        }
        complete = len(self.problems) == before
        # A section is read after everything it may refer to, and even when the unit is broken,
        # so that its own problems are reported in the same run.
        read_sections = []
        for key, section in sections.items():
            if m.get(key) is not None:  # (an empty value: not given)
                spec = section.read(m[key], here.at(key), self)
                if spec is not None:
                    read_sections.append((section, spec))
        if failed or code is None or title is None or status is None:
            return None
        return UnitSpec(
            code=code,
            title=title,
            version=version,
            status=status,
            description=description or "",
            assessment_conditions=conditions or "",
            elements=elements,
            knowledge_evidence=evidence["knowledge_evidence"],
            performance_evidence=evidence["performance_evidence"],
            where=here,
            sections=read_sections,
            complete=complete,
        )

    def element(self, value: Any, where: Where) -> ElementSpec | None:
        found = self.mapping(value, where, required=("number", "title"), optional=("criteria",))
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        number = self.number(m, here, "number", required=True, minimum=1)
        title = self.line_text(m, here, "title", required=True)
        failed = len(self.problems) > before
        criteria = self.each(m, here, "criteria", self.criterion)
        if failed or number is None or title is None:
            return None
        return ElementSpec(number=number, title=title, criteria=criteria, where=here)

    def criterion(self, value: Any, where: Where) -> CriterionSpec | None:
        found = self.mapping(value, where, required=("number", "text"))
        if found is None:
            return None
        m, here = found
        number = self.line_text(m, here, "number", required=True)
        text = self.text(m, here, "text", required=True)
        if number is None or text is None:
            return None
        return CriterionSpec(number=number, text=text.strip(), where=here)

    def course(self, value: Any, where: Where) -> CourseSpec | None:
        found = self.mapping(
            value,
            where,
            required=("code", "title", "kind", "units"),
            optional=("description", "validity_months"),
        )
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        code = self.line_text(m, here, "code", required=True)
        title = self.line_text(m, here, "title", required=True)
        kind = self.choice(m, here, "kind", Course.Kind.values)
        description = self.text(m, here, "description")
        validity = self.number(m, here, "validity_months", minimum=1)
        failed = len(self.problems) > before
        units = self.each(m, here, "units", self.course_unit)
        if failed or code is None or title is None or kind is None:
            return None
        return CourseSpec(
            code=code,
            title=title,
            kind=kind,
            description=description or "",
            validity_months=validity,
            units=units,
            where=here,
        )

    def course_unit(self, value: Any, where: Where) -> CourseUnitSpec | None:
        found = self.mapping(value, where, required=("unit",), optional=("modules",))
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        code = self.line_text(m, here, "unit", required=True)
        failed = len(self.problems) > before
        modules = self.each(m, here, "modules", self.module)
        if failed or code is None:
            return None
        return CourseUnitSpec(unit=code, modules=modules, where=here)

    def module(self, value: Any, where: Where) -> ModuleSpec | None:
        found = self.mapping(
            value,
            where,
            required=("key", "title"),
            optional=("summary", "requires", "resources"),
            hints={"prerequisites": " (prerequisites are listed under 'requires')"},
        )
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        key = self.slug(m, here, "key")
        title = self.line_text(m, here, "title", required=True)
        summary = self.text(m, here, "summary")
        requires = [
            (text.strip(), item_where)
            for item, item_where in self.items(m, here, "requires")
            if (text := self.text_value(item, item_where)) is not None
        ]
        failed = len(self.problems) > before
        resources = self.each(m, here, "resources", self.resource)
        if failed or key is None or title is None:
            return None
        return ModuleSpec(
            key=key,
            title=title,
            summary=(summary or "").strip(),
            requires=requires,
            resources=resources,
            where=here,
        )

    def resource(self, value: Any, where: Where) -> ResourceSpec | None:
        found = self.mapping(
            value,
            where,
            required=("key", "title", "kind"),
            optional=RESOURCE_KEYS,
            hints={"estimated_minutes": " (did you mean 'minutes'?)"},
        )
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        key = self.slug(m, here, "key")
        title = self.line_text(m, here, "title", required=True)
        kind = self.choice(m, here, "kind", Resource.Kind.values)
        minutes = self.number(m, here, "minutes")
        body = self.text(m, here, "body")
        file = self.path(m, here, "file")
        captions = self.path(m, here, "captions")
        if captions and not captions.lower().endswith(".vtt"):
            self.problems.add(here.at("captions"), f"{captions} must be a WebVTT file (.vtt)")
        embed_url = self.line_text(m, here, "embed_url")
        url = self.line_text(m, here, "url")
        if len(self.problems) > before or key is None or title is None or kind is None:
            return None
        return ResourceSpec(
            key=key,
            title=title,
            kind=kind,
            minutes=5 if minutes is None else minutes,
            body=body or "",
            file=file or "",
            captions=captions or "",
            embed_url=embed_url or "",
            url=url or "",
            where=here,
        )


def read_pack(data: Any, problems: Problems) -> PackSpec | None:
    """The spec of a loaded pack.yaml, or None (with problems added) when it has any."""
    return Reader(problems).pack(data)


# Rules across items --------------------------------------------------------------------------


def check_pack(pack: PackSpec, problems: Problems) -> None:
    """Uniqueness, numbering and prerequisite rules between the items of one pack, and each
    section's own `check`."""
    check_unique(
        [(unit.code, unit.where.at("code")) for unit in pack.units], "unit code", "", problems
    )
    check_unique(
        [(course.code, course.where.at("code")) for course in pack.courses],
        "course code",
        "",
        problems,
    )
    for unit in pack.units:
        _check_numbering(unit, problems)
    for course in pack.courses:
        check_unique(
            [(cu.unit, cu.where.at("unit")) for cu in course.units],
            "unit",
            f" in course {course.code}",
            problems,
        )
        keys = [(module.key, module.where.at("key")) for module in course.modules()]
        check_unique(keys, "module key", f" in course {course.code}", problems)
        for module in course.modules():
            check_unique(
                [(resource.key, resource.where.at("key")) for resource in module.resources],
                "resource key",
                f" in module {module.key}",
                problems,
            )
        if len({key for key, _ in keys}) == len(keys):  # else which one is required?
            _check_prerequisites(course, problems, references=pack.complete)
    for unit in pack.units:
        for section, spec in unit.sections:
            section.check(unit, spec, pack, problems)


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


def _check_numbering(unit: UnitSpec, problems: Problems) -> None:
    check_unique(
        [(element.number, element.where.at("number")) for element in unit.elements],
        "element number",
        f" in unit {unit.code}",
        problems,
    )
    seen: dict[str, Where] = {}
    for element in unit.elements:
        for criterion in element.criteria:
            where = criterion.where.at("number")
            match = CRITERION_NUMBER.match(criterion.number)
            if match is None:
                problems.add(
                    where,
                    f"criterion number {criterion.number!r} must be the element's number, "
                    f"a dot and a number, like {element.number}.1",
                )
            elif int(match.group(1)) != element.number:
                problems.add(
                    where,
                    f"criterion {criterion.number} does not start with the number of its "
                    f"element, {element.number} (expected {element.number}.<n>)",
                )
            if criterion.number in seen:
                problems.add(
                    where,
                    f"criterion {criterion.number} is repeated in unit {unit.code} "
                    f"(first at line {seen[criterion.number].line})",
                )
            else:
                seen[criterion.number] = where


def _check_prerequisites(course: CourseSpec, problems: Problems, *, references: bool) -> None:
    modules = {module.key: module for module in course.modules()}
    graph: dict[str, list[str]] = {}
    for module in modules.values():
        graph[module.key] = []
        for key, where in module.requires:
            if key not in modules:
                if not references:
                    continue
                problems.add(
                    where, f"requires module {key!r}, which is not in course {course.code}"
                )
            else:
                graph[module.key].append(key)
    # Depth-first search; a grey node met again closes a cycle, reported once per cycle.
    colour: dict[str, int] = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the stack, 2 done
    reported: set[frozenset[str]] = set()

    def visit(key: str, stack: list[str]) -> None:
        colour[key] = 1
        stack.append(key)
        for target in graph[key]:
            if colour[target] == 1:
                cycle = [*stack[stack.index(target) :], target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    first = modules[cycle[0]]
                    problems.add(
                        first.where.at("requires"),
                        f"modules {' -> '.join(cycle)} require each other in a cycle, "
                        "so none of them could ever open",
                    )
            elif colour[target] == 0:
                visit(target, stack)
        stack.pop()
        colour[key] = 2

    for key in graph:
        if colour[key] == 0:
            visit(key, [])
