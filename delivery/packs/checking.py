"""Checking a pack before anything is written: pack.yaml read (delivery.packs.schema) and its
rules between items (delivery.packs.rules), then what needs Django or the pack's files: the
models' own rules on every row, units a course borrows from the catalogue, and every file the
pack refers to (present, inside the pack, within CONTENT_PACK_MAX_FILE_MB). Every problem is
collected, so that one run reports them all.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from delivery.models import (
    Course,
    Element,
    Module,
    PerformanceCriterion,
    Resource,
    Unit,
)
from delivery.packs.pack_sections import pack_sections
from delivery.packs.problems import PACK_FILE, PackError, Problems, Where
from delivery.packs.rules import check_pack
from delivery.packs.schema import read_pack
from delivery.packs.source import PackSource
from delivery.packs.specs import PackSpec
from delivery.packs.yamltree import load_yaml

CHUNK = 1024 * 1024
MB = 1024 * 1024
_COURSE_FIELDS = ("code", "title", "kind", "description", "validity_months")


@dataclass(frozen=True)
class FileInfo:
    sha256: str
    size: int


@dataclass
class Plan:
    """A pack that passed every check, ready to write."""

    spec: PackSpec
    files: dict[str, FileInfo]
    sha256: str
    catalogue_units: dict[str, Unit]
    # Courses named as prerequisites that are not in the pack, by code.
    catalogue_courses: dict[str, Course] = field(default_factory=dict)


def check_source(source: PackSource) -> Plan:
    """The pack in `source`, checked and ready to write; PackError with every problem found."""
    limit = settings.CONTENT_PACK_MAX_FILE_MB * MB
    yaml_size = source.size(PACK_FILE) or 0
    if yaml_size > limit:
        raise PackError(f"{PACK_FILE} is {_megabytes(yaml_size)}, {_over_limit()}")
    with source.open(PACK_FILE) as handle:
        raw = handle.read()
    problems = Problems()
    spec = read_pack(load_yaml(raw), problems)
    if spec is None:
        raise PackError(problems.messages())
    check_pack(spec, problems)
    catalogue_units = _catalogue_units(spec, problems)
    catalogue_courses = _catalogue_courses(spec, problems)
    _check_models(spec, problems)
    for section, section_spec in pack_sections(spec):
        section.check(section_spec, spec, problems)
    files = _check_files(source, spec, limit, problems)
    problems.raise_if_any()
    return Plan(
        spec=spec,
        files=files,
        sha256=_pack_digest(hashlib.sha256(raw).hexdigest(), files),
        catalogue_units=catalogue_units,
        catalogue_courses=catalogue_courses,
    )


def _catalogue_units(spec: PackSpec, problems: Problems) -> dict[str, Unit]:
    """Units that courses take from the catalogue rather than from the pack."""
    in_pack = {unit.code for unit in spec.units}
    wanted = [
        (course_unit.unit, course_unit.where.at("unit"))
        for course in spec.courses
        for course_unit in course.units
        if course_unit.unit not in in_pack
    ]
    found = {u.code: u for u in Unit.objects.filter(code__in={code for code, _ in wanted})}
    if spec.complete:  # else the unit may be in the pack, in an item that could not be read
        for code, where in wanted:
            if code not in found:
                problems.add(where, f"unit {code} is neither in the pack nor in the catalogue")
    return found


def _catalogue_courses(spec: PackSpec, problems: Problems) -> dict[str, Course]:
    """Courses that `catalogue.prerequisites` take from the catalogue rather than the pack."""
    in_pack = {course.code for course in spec.courses}
    wanted = [
        (code, where)
        for course in spec.courses
        if course.catalogue is not None
        for code, where in course.catalogue.prerequisites
        if code not in in_pack
    ]
    if not wanted:
        return {}
    found = {c.code: c for c in Course.objects.filter(code__in={code for code, _ in wanted})}
    if spec.courses_complete:  # else the course may be in the pack, unreadable
        for code, where in wanted:
            if code not in found:
                problems.add(
                    where, f"prerequisite course {code} is neither in the pack nor in the catalogue"
                )
    return found


def _check_models(spec: PackSpec, problems: Problems) -> None:
    """The models' own rules (lengths, slugs, addresses, Resource.clean) on unsaved rows."""
    for unit in spec.units:
        check_row(
            Unit(
                code=unit.code,
                title=unit.title,
                version=unit.version,
                status=unit.status,
                description=unit.description,
                assessment_conditions=unit.assessment_conditions,
            ),
            unit.where,
            problems,
        )
        for element in unit.elements:
            check_row(
                Element(number=element.number, title=element.title),
                element.where,
                problems,
                exclude=["unit"],
            )
            for criterion in element.criteria:
                check_row(
                    PerformanceCriterion(number=criterion.number, text=criterion.text),
                    criterion.where,
                    problems,
                    exclude=["element"],
                )
    for course in spec.courses:
        check_row(
            Course(
                code=course.code,
                title=course.title,
                kind=course.kind,
                description=course.description,
                validity_months=course.validity_months,
            ),
            course.where,
            problems,
        )
        if course.catalogue is not None:
            fields = course.catalogue.fields()
            check_row(
                Course(code=course.code, title=course.title, kind=course.kind, **fields),
                course.catalogue.where,
                problems,
                exclude=[name for name in _COURSE_FIELDS if name not in fields],
            )
        for module in course.modules():
            check_row(
                Module(key=module.key, title=module.title, summary=module.summary),
                module.where,
                problems,
                exclude=["course", "course_unit"],
            )
            for resource in module.resources:
                check_row(
                    Resource(
                        key=resource.key,
                        title=resource.title,
                        kind=resource.kind,
                        estimated_minutes=resource.minutes,
                        body=resource.body,
                        file=resource.file,
                        captions=resource.captions,
                        embed_url=resource.embed_url,
                        url=resource.url,
                    ),
                    resource.where,
                    problems,
                    exclude=["module"],
                    keys={"estimated_minutes": "minutes"},
                )


def check_row(
    row: models.Model,
    where: Where,
    problems: Problems,
    *,
    exclude: list[str] | None = None,
    keys: dict[str, str] | None = None,
) -> None:
    """The model's own rules on an unsaved `row` read from `where`, as problems; `keys` maps
    a field to the pack's key where they differ (`estimated_minutes`: `minutes`)."""
    # Uniqueness is the pack's own rule (checked in schema) or an update in place, not an error.
    try:
        row.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            place = where if name == NON_FIELD_ERRORS else where.at((keys or {}).get(name, name))
            for message in messages:
                problems.add(place, message)


def _check_files(
    source: PackSource, spec: PackSpec, limit: int, problems: Problems
) -> dict[str, FileInfo]:
    files: dict[str, FileInfo] = {}
    failed: dict[str, str] = {}
    for path, where in spec.file_references():
        if path not in files and path not in failed:
            info, problem = _file_info(source, path, limit)
            if info is not None:
                files[path] = info
            else:
                failed[path] = problem
        if path in failed:
            problems.add(where, failed[path])
    return files


def _file_info(source: PackSource, path: str, limit: int) -> tuple[FileInfo | None, str]:
    size = source.size(path)
    if size is None:
        return None, f"{path} is not in the pack"
    if size > limit:
        return None, f"{path} is {_megabytes(size)}, {_over_limit()}"
    digest = hashlib.sha256()
    read = 0
    try:
        with source.open(path) as handle:
            while chunk := handle.read(CHUNK):
                read += len(chunk)
                if read > limit:
                    return None, f"{path} is over {_megabytes(limit)}, {_over_limit()}"
                digest.update(chunk)
    except (OSError, zipfile.BadZipFile) as exc:
        return None, f"{path} could not be read: {exc}"
    return FileInfo(sha256=digest.hexdigest(), size=read), ""


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


def _over_limit() -> str:
    return (
        f"over the {settings.CONTENT_PACK_MAX_FILE_MB} MB a pack's file may be "
        "(CONTENT_PACK_MAX_FILE_MB)"
    )


def _pack_digest(yaml_sha256: str, files: dict[str, FileInfo]) -> str:
    """SHA-256 of a sha256sum-style listing of pack.yaml and every file it refers to."""
    listing = [f"{yaml_sha256}  {PACK_FILE}\n"]
    listing += [f"{info.sha256}  {path}\n" for path, info in sorted(files.items())]
    return hashlib.sha256("".join(listing).encode()).hexdigest()
