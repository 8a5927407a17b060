"""Importing a content pack: check everything, then write everything in one transaction.

Rows are matched by their lasting names (unit code, course code, module key within its course,
resource key within its module) and updated in place, so learners' progress on a resource
survives every re-import that keeps that resource's key. Registered sections (assessment's
`tasks`) are checked and written at the same steps, see delivery.packs.sections.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone

from delivery.models import (
    ContentPack,
    Course,
    CourseUnit,
    Element,
    EvidenceItem,
    Module,
    PerformanceCriterion,
    Resource,
    Unit,
)
from delivery.packs.schema import (
    PACK_FILE,
    CourseSpec,
    ModuleSpec,
    PackError,
    PackSpec,
    Problems,
    UnitSpec,
    Where,
    check_pack,
    load_yaml,
    read_pack,
)
from delivery.packs.sections import WriteContext, registered_sections
from delivery.packs.source import PackSource, open_source

CHUNK = 1024 * 1024
MB = 1024 * 1024

TALLIES = (
    "units",
    "elements",
    "criteria",
    "evidence items",
    "courses",
    "course units",
    "modules",
    "resources",
)

M = TypeVar("M", bound=models.Model)


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __bool__(self) -> bool:
        return any((self.created, self.updated, self.unchanged, self.deleted))

    def record(self, *, created: bool, changed: bool) -> None:
        """Count one row of the pack: created, or else updated when it changed."""
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ImportResult:
    """What one import did, for the command's output and for callers such as seed_demo."""

    pack_id: str
    title: str
    version: int
    sha256: str
    previous_version: int | None = None
    # This version was imported before, so nothing was written.
    skipped: bool = False
    # Skipped, though the pack's content is not what was imported under this version.
    differs: bool = False
    tallies: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in TALLIES})
    files_stored: int = 0
    # Files whose content was in storage already (from the last import, or earlier in this one).
    files_unchanged: int = 0
    # Imported, but worth the author's attention (a unit whose tasks leave a criterion uncovered).
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        if self.skipped:
            lines = [
                f"Pack {self.pack_id} version {self.version} is already imported: nothing changed."
            ]
            if self.differs:
                lines.append(
                    "Its content differs from what was imported as this version: raise "
                    "pack.version to import the changes (or use --force)."
                )
            return lines
        if self.previous_version is None:
            was = ""
        elif self.previous_version == self.version:
            was = " (again, forced)"
        else:
            was = f" (was version {self.previous_version})"
        lines = [f"Imported pack {self.pack_id} version {self.version}{was}: {self.title}"]
        for name, tally in self.tallies.items():
            if tally:
                lines.append(
                    f"  {name}: {tally.created} created, {tally.updated} updated, "
                    f"{tally.deleted} deleted, {tally.unchanged} unchanged"
                )
        lines.append(
            f"  files: {self.files_stored} stored, {self.files_unchanged} already in storage"
        )
        lines += [f"Warning: {warning}" for warning in self.warnings]
        return lines


@dataclass(frozen=True)
class FileInfo:
    sha256: str
    size: int


@dataclass
class _Plan:
    """A pack that passed every check, ready to write."""

    spec: PackSpec
    files: dict[str, FileInfo]
    sha256: str
    catalogue_units: dict[str, Unit]


def import_pack(path: Path | str, *, force: bool = False) -> ImportResult:
    """Import the pack at `path` (a directory, its pack.yaml, or a .zip) into the catalogue.

    Everything is checked first: pack.yaml's shape, the rules between its items, the model
    rules of every row (the video embed allow-list included), units a course borrows from the
    catalogue, and every file the pack refers to (present, inside the pack, within
    CONTENT_PACK_MAX_FILE_MB). Any problem raises PackError listing them all, and nothing is
    written. Then one transaction (taking the pack's ContentPack row for update) checks what
    the sections forbid doing to the current catalogue (deleting a task learners attempted),
    raising PackError for that too, and writes it all.

    Importing the version already imported does nothing and says so; an older version raises
    PackError; `force` imports either anyway. Files are written to storage before the
    transaction commits (storage is not transactional) and deleted again if it fails.
    """
    with open_source(Path(path)) as source:
        plan = _check(source)
        return _write(plan, source, force=force)


# Checking ------------------------------------------------------------------------------------


def _check(source: PackSource) -> _Plan:
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
    _check_models(spec, problems)
    files = _check_files(source, spec, limit, problems)
    problems.raise_if_any()
    return _Plan(
        spec=spec,
        files=files,
        sha256=_pack_digest(hashlib.sha256(raw).hexdigest(), files),
        catalogue_units=catalogue_units,
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


# Writing -------------------------------------------------------------------------------------


def _write(plan: _Plan, source: PackSource, *, force: bool) -> ImportResult:
    spec = plan.spec
    stored: list[str] = []
    try:
        with transaction.atomic():
            record = ContentPack.objects.select_for_update().filter(key=spec.id).first()
            result = ImportResult(
                pack_id=spec.id,
                title=spec.title,
                version=spec.version,
                sha256=plan.sha256,
                previous_version=record.version if record is not None else None,
            )
            for section in registered_sections():
                for name in section.tallies:
                    result.tallies.setdefault(name, Tally())
            if record is not None and not force:
                if record.version == spec.version:
                    result.skipped = True
                    result.differs = record.sha256 != plan.sha256
                    return result
                if record.version > spec.version:
                    raise PackError(
                        f"{PACK_FILE} (pack.version): version {spec.version} of pack {spec.id} "
                        f"is older than version {record.version}, imported on "
                        f"{record.imported_at:%Y-%m-%d}; nothing was imported "
                        "(use --force to go back to it)"
                    )
            _check_current(spec)
            _Writer(plan, source, result, stored).write()
            record = record or ContentPack(key=spec.id)
            record.title = spec.title
            record.version = spec.version
            record.sha256 = plan.sha256
            record.imported_at = timezone.now()
            record.save()
            return result
    except BaseException:
        for name in stored:
            with suppress(Exception):
                default_storage.delete(name)
        raise


def _check_current(spec: PackSpec) -> None:
    """The sections' rules against the catalogue as it is, before anything is written."""
    problems = Problems()
    for unit in spec.units:
        for section, section_spec in unit.sections:
            section.check_current(unit, section_spec, problems)
    problems.raise_if_any()


class _Writer:
    def __init__(
        self, plan: _Plan, source: PackSource, result: ImportResult, stored: list[str]
    ) -> None:
        self.plan = plan
        self.source = source
        self.result = result
        self.stored = stored
        # Content already in storage during this import, by SHA-256: stored once, shared.
        self.by_digest: dict[str, str] = {}

    def write(self) -> None:
        units = dict(self.plan.catalogue_units)
        for unit in self.plan.spec.units:
            units[unit.code] = self.unit(unit)
        modules = {course.code: self.course(course, units) for course in self.plan.spec.courses}
        context = WriteContext(pack=self.plan.spec, result=self.result, modules=modules)
        # Last, so that a section's rows can refer to every unit and module of the pack.
        for unit_spec in self.plan.spec.units:
            for section, section_spec in unit_spec.sections:
                section.write(units[unit_spec.code], section_spec, context)

    # Bookkeeping

    def put(self, tally: str, current: M | None, new: M, values: dict[str, Any]) -> M:
        """`current` updated with `values`, or `new` made with them; saved only if changed."""
        row = current if current is not None else new
        changed = _assign(row, values)
        self.count(tally, created=current is None, changed=changed)
        if current is None or changed:
            row.save()
        return row

    def count(self, tally: str, *, created: bool, changed: bool) -> None:
        self.result.tallies[tally].record(created=created, changed=changed)

    def delete(self, tally: str, rows: Iterable[models.Model]) -> None:
        doomed = list(rows)
        if doomed:
            type(doomed[0])._default_manager.filter(pk__in=[row.pk for row in doomed]).delete()
            self.result.tallies[tally].deleted += len(doomed)

    # Units

    def unit(self, spec: UnitSpec) -> Unit:
        current = Unit.objects.filter(code=spec.code).first()
        unit = self.put(
            "units",
            current,
            Unit(code=spec.code),
            {
                "title": spec.title,
                "version": spec.version,
                "status": spec.status,
                "description": spec.description,
                "assessment_conditions": spec.assessment_conditions,
            },
        )
        elements = {e.number: e for e in unit.elements.all()} if current else {}
        criteria: dict[tuple[int, str], PerformanceCriterion] = {}
        if current:
            for criterion in PerformanceCriterion.objects.filter(element__unit=unit):
                criteria[criterion.element_id, criterion.number] = criterion
        for element_spec in spec.elements:
            element = self.put(
                "elements",
                elements.pop(element_spec.number, None),
                Element(unit=unit, number=element_spec.number),
                {"title": element_spec.title},
            )
            for position, criterion_spec in enumerate(element_spec.criteria, start=1):
                self.put(
                    "criteria",
                    criteria.pop((element.pk, criterion_spec.number), None),
                    PerformanceCriterion(element=element, number=criterion_spec.number),
                    {"text": criterion_spec.text, "position": position},
                )
        # Criteria left over: those of a kept element are deleted here, the others go with
        # their element.
        dropped_elements = {element.pk for element in elements.values()}
        self.delete(
            "criteria", [c for c in criteria.values() if c.element_id not in dropped_elements]
        )
        self.result.tallies["criteria"].deleted += sum(
            1 for c in criteria.values() if c.element_id in dropped_elements
        )
        self.delete("elements", elements.values())

        evidence = {(e.kind, e.number): e for e in unit.evidence_items.all()} if current else {}
        for kind, items in [
            (EvidenceItem.Kind.KNOWLEDGE, spec.knowledge_evidence),
            (EvidenceItem.Kind.PERFORMANCE, spec.performance_evidence),
        ]:
            for number, item in enumerate(items, start=1):
                self.put(
                    "evidence items",
                    evidence.pop((kind, number), None),
                    EvidenceItem(unit=unit, kind=kind, number=number),
                    {"text": item.text},
                )
        self.delete("evidence items", evidence.values())
        return unit

    # Courses

    def course(self, spec: CourseSpec, units: dict[str, Unit]) -> dict[str, Module]:
        """Write the course; its modules by key."""
        current = Course.objects.filter(code=spec.code).first()
        course = self.put(
            "courses",
            current,
            Course(code=spec.code),
            {
                "title": spec.title,
                "kind": spec.kind,
                "description": spec.description,
                "validity_months": spec.validity_months,
            },
        )
        course_units = {cu.unit_id: cu for cu in course.course_units.all()} if current else {}
        modules = {m.key: m for m in course.modules.all()} if current else {}
        placed: dict[str, tuple[Module, bool]] = {}  # key: (module, created or changed)
        for position, course_unit_spec in enumerate(spec.units, start=1):
            unit = units[course_unit_spec.unit]
            course_unit = self.put(
                "course units",
                course_units.pop(unit.pk, None),
                CourseUnit(course=course, unit=unit),
                {"position": position},
            )
            for module_position, module_spec in enumerate(course_unit_spec.modules, start=1):
                placed[module_spec.key] = self.module(
                    course,
                    course_unit,
                    module_spec,
                    modules.pop(module_spec.key, None),
                    module_position,
                )
        for module_spec in spec.modules():
            module, touched = placed[module_spec.key]
            wanted = {placed[key][0].pk for key, _ in module_spec.requires}
            if wanted != set(module.prerequisites.values_list("pk", flat=True)):
                module.prerequisites.set(wanted)
                if not touched:
                    self.result.tallies["modules"].unchanged -= 1
                    self.result.tallies["modules"].updated += 1
        self.result.tallies["resources"].deleted += Resource.objects.filter(
            module__in=[m.pk for m in modules.values()]
        ).count()
        self.delete("modules", modules.values())
        self.delete("course units", course_units.values())
        return {key: module for key, (module, _) in placed.items()}

    def module(
        self,
        course: Course,
        course_unit: CourseUnit,
        spec: ModuleSpec,
        current: Module | None,
        position: int,
    ) -> tuple[Module, bool]:
        values = {
            "course_unit_id": course_unit.pk,
            "title": spec.title,
            "summary": spec.summary,
            "position": position,
        }
        changed = current is not None and _differs(current, values)
        module = self.put("modules", current, Module(course=course, key=spec.key), values)
        resources = {r.key: r for r in module.resources.all()} if current else {}
        for resource_position, resource_spec in enumerate(spec.resources, start=1):
            existing = resources.pop(resource_spec.key, None)
            resource = existing or Resource(module=module, key=resource_spec.key)
            altered = _assign(
                resource,
                {
                    "title": resource_spec.title,
                    "kind": resource_spec.kind,
                    "position": resource_position,
                    "estimated_minutes": resource_spec.minutes,
                    "body": resource_spec.body,
                    "embed_url": resource_spec.embed_url,
                    "url": resource_spec.url,
                },
            )
            altered = self.attach(resource, "file", resource_spec.file) or altered
            altered = self.attach(resource, "captions", resource_spec.captions) or altered
            self.count("resources", created=existing is None, changed=altered)
            if existing is None or altered:
                resource.save()
        self.delete("resources", resources.values())
        return module, current is None or changed

    def attach(self, resource: Resource, name: str, pack_path: str) -> bool:
        """Point the resource's file field `name` at the pack's file; True if it changed.

        The stored file is kept when its content is the pack's; otherwise the pack's copy is
        stored under a new random folder (see resource_upload_to), never over another file.
        """
        field_file = getattr(resource, name)
        if not pack_path:
            if field_file.name:
                setattr(resource, name, "")
                return True
            return False
        info = self.plan.files[pack_path]
        if field_file.name and _stored_digest(field_file.name, info.size) == info.sha256:
            self.by_digest.setdefault(info.sha256, field_file.name)
            self.result.files_unchanged += 1
            return False
        if info.sha256 in self.by_digest:
            setattr(resource, name, self.by_digest[info.sha256])
            self.result.files_unchanged += 1
            return True
        with self.source.open(pack_path) as handle:
            field_file.save(PurePosixPath(pack_path).name, File(handle), save=False)
        self.stored.append(field_file.name)
        self.by_digest[info.sha256] = field_file.name
        self.result.files_stored += 1
        return True


def _differs(row: models.Model, values: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in values.items())


def _assign(row: models.Model, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _stored_digest(name: str, size: int) -> str | None:
    """SHA-256 of a stored file, or None when it is missing, unreadable or not `size` long."""
    try:
        if default_storage.size(name) != size:
            return None
        digest = hashlib.sha256()
        with default_storage.open(name, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    except Exception:  # any storage's "not there": the pack's copy is stored again
        return None
