"""The flipside-pack/1 format as typed specs: what `delivery.packs.schema` reads from pack.yaml,
the rules check, and the importer writes. Plain data, with no database and no YAML."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from delivery.packs.problems import Where

FORMAT = "flipside-pack/1"

# A unit's own keys besides `code` and `title`; registered sections add theirs (`tasks`).
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
# A course's `catalogue` keys: how the public catalogue offers it.
CATALOGUE_KEYS = (
    "published",
    "area",
    "outcomes",
    "effort_hours",
    "delivery",
    "enrolment",
    "prerequisites",
)
# `catalogue.delivery`'s words, each a Course flag of the same name.
DELIVERY_MODES = ("self_paced", "live_tutorials", "workplace_observation")


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
    # What registered sections read, by their key (`tasks`): each section's own spec. Keyed
    # rather than holding the section, so that specs need not know sections (which use specs);
    # delivery.packs.sections.unit_sections pairs them up again.
    sections: dict[str, Any] = field(default_factory=dict)
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
class CatalogueSpec:
    """A course's `catalogue` keys; left out, the course's catalogue fields stay as they are."""

    published: bool
    area: str
    outcomes: list[str]
    effort_hours: int | None
    delivery: list[str]
    enrolment: str
    prerequisites: list[tuple[str, Where]]
    where: Where

    def fields(self) -> dict[str, Any]:
        """The Course fields it sets (not `prerequisites`, a relation)."""
        return {
            "published": self.published,
            "area": self.area,
            "outcomes": "\n".join(self.outcomes),
            "effort_hours": self.effort_hours,
            **{mode: mode in self.delivery for mode in DELIVERY_MODES},
            "enrolment": self.enrolment,
        }


@dataclass
class CourseSpec:
    code: str
    title: str
    kind: str
    description: str
    validity_months: int | None
    units: list[CourseUnitSpec]
    where: Where
    catalogue: CatalogueSpec | None = None

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
    # Top-level keys read by registered sections (delivery.packs.pack_sections), by key.
    sections: dict[str, Any] = field(default_factory=dict)

    def file_references(self) -> Iterator[tuple[str, Where]]:
        """Every file the pack refers to, with where it does."""
        for course in self.courses:
            for module in course.modules():
                for resource in module.resources:
                    if resource.file:
                        yield resource.file, resource.where.at("file")
                    if resource.captions:
                        yield resource.captions, resource.where.at("captions")
