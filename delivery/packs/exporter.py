"""Exporting courses as a content pack: the same format import_pack reads, so a pack made on
one Flipside (or by hand, then edited in the admin) moves to another without loss. Registered
sections (assessment's `tasks`) write their keys under each unit."""

from __future__ import annotations

import os
import secrets
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from django.core.files.storage import default_storage

from delivery.models import Course, Module, Resource, Unit
from delivery.packs.pack_sections import registered_pack_sections
from delivery.packs.problems import PACK_FILE, PackError
from delivery.packs.reader import SLUG
from delivery.packs.sections import registered_sections
from delivery.packs.specs import DELIVERY_MODES, FORMAT

CHUNK = 1024 * 1024
# A fixed timestamp makes the same content export to the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    courses: int
    units: int
    modules: int
    resources: int
    files: int
    size: int  # bytes of the zip


class _Dumper(yaml.SafeDumper):
    """Multi-line text (Markdown bodies, descriptions) as readable `|` blocks."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    )


class FlowList(list[Any]):
    """A short list written on one line, `[1.1, 2.3]`, as an author would (for sections)."""


def _represent_flow_list(dumper: yaml.SafeDumper, data: FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(FlowList, _represent_flow_list)


def export_pack(
    courses: Sequence[Course], *, pack_id: str, version: int, title: str, out: Path
) -> ExportResult:
    """Write `courses` with their units, modules, resources and files as a pack zip at `out`.

    Reads only. The zip is written beside `out` and moved into place, so `out` is never left
    half-written. Raises PackError when the arguments are not a valid pack header, a module
    requires one of another course (a pack cannot say that), a section cannot express what it
    has (a task requiring a module outside the export), or a file is missing from storage.
    """
    problems = []
    if not SLUG.match(pack_id):
        problems.append(f"pack id {pack_id!r} must be letters, digits, hyphens and underscores")
    if version < 1:
        problems.append(f"pack version must be a whole number from 1, not {version}")
    if not title.strip():
        problems.append("a pack needs a title")
    if not courses:
        problems.append("a pack needs at least one course")
    builder = _Builder()
    course_data = [builder.course(course) for course in courses]
    unit_data = [builder.unit(unit, courses) for unit in builder.units.values()]
    problems += builder.problems
    top = {}
    for section in registered_pack_sections():
        value = section.export(courses, list(builder.units.values()), problems)
        if value is not None:
            top[section.key] = value
    if problems:
        raise PackError(problems)
    document: dict[str, Any] = {
        "format": FORMAT,
        "pack": {"id": pack_id, "version": version, "title": title.strip()},
        "units": unit_data,
        "courses": course_data,
        **top,
    }
    text = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    _write_zip(out, text, builder.files)
    return ExportResult(
        path=out,
        courses=len(courses),
        units=len(builder.units),
        modules=builder.modules,
        resources=builder.resources,
        files=len(builder.files),
        size=out.stat().st_size,
    )


class _Builder:
    def __init__(self) -> None:
        self.units: dict[int, Unit] = {}  # in order of first use
        self.files: dict[str, str] = {}  # storage name: path in the pack
        self.taken: set[str] = set()
        self.problems: list[str] = []
        self.modules = 0
        self.resources = 0

    def course(self, course: Course) -> dict[str, Any]:
        modules = list(
            course.modules.order_by("position", "id").prefetch_related("resources", "prerequisites")
        )
        self.modules += len(modules)
        units = []
        for course_unit in course.course_units.select_related("unit").order_by("position", "id"):
            self.units.setdefault(course_unit.unit_id, course_unit.unit)
            units.append(
                {
                    "unit": course_unit.unit.code,
                    "modules": [
                        self.module(course, module)
                        for module in modules
                        if module.course_unit_id == course_unit.pk
                    ],
                }
            )
        return _without_empty(
            {
                "code": course.code,
                "title": course.title,
                "kind": course.kind,
                "description": course.description,
                "validity_months": course.validity_months,
                "catalogue": _catalogue(course),
                "units": units,
            },
            keep={"units"},
        )

    def module(self, course: Course, module: Module) -> dict[str, Any]:
        requires = []
        for other in module.prerequisites.all():
            if other.course_id != course.pk:
                self.problems.append(
                    f"module {module.key} of course {course.code} requires module {other.key} "
                    "of another course, which a pack cannot express"
                )
            requires.append(other.key)
        resources = sorted(module.resources.all(), key=lambda r: (r.position, r.pk))
        self.resources += len(resources)
        return _without_empty(
            {
                "key": module.key,
                "title": module.title,
                "summary": module.summary,
                "requires": requires,
                "resources": [self.resource(course, module, r) for r in resources],
            }
        )

    def resource(self, course: Course, module: Module, resource: Resource) -> dict[str, Any]:
        return _without_empty(
            {
                "key": resource.key,
                "title": resource.title,
                "kind": resource.kind,
                "minutes": resource.estimated_minutes,
                "body": resource.body,
                "file": self.file(course, module, resource, resource.file.name),
                "captions": self.file(course, module, resource, resource.captions.name),
                "embed_url": resource.embed_url,
                "url": resource.url,
            },
            keep={"minutes"},
        )

    def file(self, course: Course, module: Module, resource: Resource, name: str | None) -> str:
        if not name:
            return ""
        if name in self.files:
            return self.files[name]
        if not default_storage.exists(name):
            self.problems.append(
                f"course {course.code}, module {module.key}, resource {resource.key}: "
                f"file {name} is missing from storage"
            )
            return ""
        base = PurePosixPath(name).name
        path, n = f"files/{base}", 1
        while path in self.taken:
            n += 1
            path = f"files/{n}-{base}"
        self.taken.add(path)
        self.files[name] = path
        return path

    def unit(self, unit: Unit, courses: Sequence[Course]) -> dict[str, Any]:
        data = _unit(unit)
        for section in registered_sections():
            value = section.export(unit, courses, self.problems)
            if value is not None:
                data[section.key] = value
        return data


def _unit(unit: Unit) -> dict[str, Any]:
    elements = []
    for element in unit.elements.order_by("number").prefetch_related("criteria"):
        criteria = sorted(element.criteria.all(), key=lambda c: (c.position, c.pk))
        elements.append(
            {
                "number": element.number,
                "title": element.title,
                "criteria": [{"number": c.number, "text": c.text} for c in criteria],
            }
        )
    evidence = list(unit.evidence_items.order_by("kind", "number"))
    return _without_empty(
        {
            "code": unit.code,
            "title": unit.title,
            "version": unit.version,
            "status": unit.status,
            "description": unit.description,
            "assessment_conditions": unit.assessment_conditions,
            "elements": elements,
            "knowledge_evidence": [e.text for e in evidence if e.kind == e.Kind.KNOWLEDGE],
            "performance_evidence": [e.text for e in evidence if e.kind == e.Kind.PERFORMANCE],
        }
    )


def _without_empty(data: dict[str, Any], keep: set[str] | None = None) -> dict[str, Any]:
    """Optional keys are left out when empty, as an author would write the pack."""
    return {k: v for k, v in data.items() if k in (keep or set()) or v not in ("", None, [])}


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _write_zip(out: Path, text: str, files: dict[str, str]) -> None:
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(_zip_info(PACK_FILE), text.encode())
            for name, path in files.items():
                large = default_storage.size(name) >= 2**31
                with (
                    default_storage.open(name, "rb") as source,
                    archive.open(_zip_info(path), "w", force_zip64=large) as target,
                ):
                    shutil.copyfileobj(source, target, CHUNK)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _catalogue(course: Course) -> dict[str, Any] | None:
    """The course's `catalogue` keys; nothing when they are all as a new course has them."""
    delivery = [mode for mode in DELIVERY_MODES if getattr(course, mode)]
    data = {
        "published": course.published,
        "area": course.area,
        "outcomes": [line.strip() for line in course.outcomes.splitlines() if line.strip()],
        "effort_hours": course.effort_hours,
        "delivery": FlowList(delivery),
        "enrolment": course.enrolment,
        "prerequisites": FlowList(sorted(c.code for c in course.prerequisites.all())),
    }
    default = (
        not course.published
        and not data["area"]
        and not data["outcomes"]
        and course.effort_hours is None
        and delivery == ["self_paced"]
        and course.enrolment == Course.Enrolling.OPEN
        and not data["prerequisites"]
    )
    if default:
        return None
    return _without_empty(data, keep={"published", "delivery", "enrolment"})
