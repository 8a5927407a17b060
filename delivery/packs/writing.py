"""Writing a checked pack (delivery.packs.checking.Plan) into the catalogue, inside the importer's
transaction.

Rows are matched by their lasting names (unit code, course code, module key within its course,
resource key within its module) and updated in place, so learners' progress on a resource
survives every re-import that keeps that resource's key; a row is saved only when it changed,
and counted either way. Files are stored once per content, never over another file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models

from delivery.models import (
    Course,
    CourseUnit,
    Element,
    EvidenceItem,
    Module,
    PerformanceCriterion,
    Resource,
    Unit,
)
from delivery.packs.checking import CHUNK, Plan
from delivery.packs.result import ImportResult
from delivery.packs.sections import WriteContext, unit_sections
from delivery.packs.source import PackSource
from delivery.packs.specs import CourseSpec, ModuleSpec, UnitSpec

M = TypeVar("M", bound=models.Model)


class Writer:
    """Writes one plan; `stored` collects the names of the files it put in storage, so that
    the importer can delete them if the transaction fails."""

    def __init__(
        self, plan: Plan, source: PackSource, result: ImportResult, stored: list[str]
    ) -> None:
        self.plan = plan
        self.source = source
        self.result = result
        self.stored = stored
        # Content already in storage during this import, by SHA-256: stored once, shared.
        self.by_digest: dict[str, str] = {}
        # Codes of the courses created or changed (and so counted so) by this import.
        self.touched: set[str] = set()

    def write(self) -> None:
        units = dict(self.plan.catalogue_units)
        for unit in self.plan.spec.units:
            units[unit.code] = self.unit(unit)
        modules = {course.code: self.course(course, units) for course in self.plan.spec.courses}
        self.prerequisites()
        context = WriteContext(pack=self.plan.spec, result=self.result, modules=modules)
        # Last, so that a section's rows can refer to every unit and module of the pack.
        for unit_spec in self.plan.spec.units:
            for section, section_spec in unit_sections(unit_spec):
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
        values = {
            "title": spec.title,
            "kind": spec.kind,
            "description": spec.description,
            "validity_months": spec.validity_months,
            # Without `catalogue` keys, what the admin set for the catalogue stays.
            **(spec.catalogue.fields() if spec.catalogue is not None else {}),
        }
        if current is None or _differs(current, values):
            self.touched.add(spec.code)
        course = self.put("courses", current, Course(code=spec.code), values)
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

    def prerequisites(self) -> None:
        """Each course's `catalogue.prerequisites`, once every course of the pack exists."""
        wanted = {
            spec.code: [code for code, _ in spec.catalogue.prerequisites]
            for spec in self.plan.spec.courses
            if spec.catalogue is not None
        }
        if not wanted:
            return
        codes = set(wanted).union(*wanted.values())
        rows = dict(self.plan.catalogue_courses)
        rows.update(
            (c.code, c)
            for c in Course.objects.filter(code__in=codes).prefetch_related("prerequisites")
        )
        for code, prerequisite_codes in wanted.items():
            course = rows[code]
            want = {rows[p].pk for p in prerequisite_codes}
            if want != {p.pk for p in course.prerequisites.all()}:
                course.prerequisites.set(want)
                if code not in self.touched:
                    self.result.tallies["courses"].unchanged -= 1
                    self.result.tallies["courses"].updated += 1

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
