"""The flipside-pack/1 format read: pack.yaml's tree (delivery.packs.yamltree) into typed specs
(delivery.packs.specs), key by key, with every problem found (delivery.packs.problems). The
rules between items are in delivery.packs.rules; how the package's modules stack up, in its
__init__.

Sections of apps above delivery (assessment.packs) import `Reader`, `Where`, `Problems`,
`YamlMap`, `check_unique` and the specs from here; they are defined in the modules below.
"""

from __future__ import annotations

from typing import Any

from delivery.models import Course, Resource, Unit
from delivery.packs.pack_sections import registered_pack_sections
from delivery.packs.problems import PackError, Problems, Where, check_unique
from delivery.packs.reader import Reader, describe_value
from delivery.packs.sections import registered_sections
from delivery.packs.specs import (
    CATALOGUE_KEYS,
    DELIVERY_MODES,
    FORMAT,
    RESOURCE_KEYS,
    UNIT_KEYS,
    CatalogueSpec,
    CourseSpec,
    CourseUnitSpec,
    CriterionSpec,
    ElementSpec,
    EvidenceSpec,
    ModuleSpec,
    PackSpec,
    ResourceSpec,
    UnitSpec,
)
from delivery.packs.yamltree import YamlMap

# Imported from here by the sections of apps above delivery (assessment.packs).
__all__ = [
    "PackError",
    "PackReader",
    "PackSpec",
    "Problems",
    "Reader",
    "UnitSpec",
    "Where",
    "YamlMap",
    "check_unique",
    "read_pack",
]

# For a `tasks` key when no section reads it (see delivery.packs.sections).
TASKS_HINT = " (this server reads assessment tasks only with its assessment app installed)"


class PackReader(Reader):
    """Reads one pack.yaml tree into specs, adding a problem for everything wrong."""

    def pack(self, data: Any) -> PackSpec | None:
        if data is None:
            self.problems.add(Where("", None), "is empty")
            return None
        top = {section.key: section for section in registered_pack_sections()}
        found = self.mapping(
            data, Where("", 1), required=("format", "pack"), optional=("units", "courses", *top)
        )
        if found is None:
            return None
        m, here = found
        if "format" in m:
            declared = m["format"]
            if declared != FORMAT:
                self.problems.add(
                    here.at("format"),
                    f"unsupported format {describe_value(declared)}: this server reads {FORMAT}",
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
        top_specs = {
            key: spec
            for key, section in top.items()
            if m.get(key) is not None
            and (spec := section.read(m[key], here.at(key), self)) is not None
        }
        if not m.get("units") and not m.get("courses") and not top_specs:
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
            sections=top_specs,
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
        read_sections = {}
        for key, section in sections.items():
            if m.get(key) is not None:  # (an empty value: not given)
                spec = section.read(m[key], here.at(key), self)
                if spec is not None:
                    read_sections[key] = spec
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
            optional=("description", "validity_months", "catalogue"),
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
        catalogue = None
        if m.get("catalogue") is not None:  # (an empty value: not given)
            catalogue = self.catalogue(m["catalogue"], here.at("catalogue"))
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
            catalogue=catalogue,
        )

    def catalogue(self, value: Any, where: Where) -> CatalogueSpec | None:
        found = self.mapping(value, where, optional=CATALOGUE_KEYS)
        if found is None:
            return None
        m, here = found
        before = len(self.problems)
        published = self.flag(m, here, "published")
        area = self.line_text(m, here, "area")
        outcomes = []
        for item, item_where in self.items(m, here, "outcomes"):
            text = self.text_value(item, item_where)
            if text is not None and "\n" in text.strip():
                self.problems.add(item_where, "must be on one line (one statement per item)")
            elif text is not None:
                outcomes.append(text.strip())
        effort = self.number(m, here, "effort_hours", minimum=1)
        delivery: list[tuple[str, Where]] = []
        given = m.get("delivery") is not None
        for item, item_where in self.items(m, here, "delivery"):
            text = self.text_value(item, item_where)
            if text is not None and text.strip() not in DELIVERY_MODES:
                self.problems.add(
                    item_where,
                    f"must be one of {', '.join(DELIVERY_MODES)}, not {describe_value(text)}",
                )
            elif text is not None:
                delivery.append((text.strip(), item_where))
        check_unique(delivery, "delivery", "", self.problems)
        enrolment = self.choice(
            m, here, "enrolment", Course.Enrolling.values, default=Course.Enrolling.OPEN
        )
        prerequisites = [
            (text.strip(), item_where)
            for item, item_where in self.items(m, here, "prerequisites")
            if (text := self.text_value(item, item_where)) is not None
        ]
        check_unique(prerequisites, "prerequisite", "", self.problems)
        if len(self.problems) > before or published is None or enrolment is None:
            return None
        return CatalogueSpec(
            published=published,
            area=area or "",
            outcomes=outcomes,
            effort_hours=effort,
            delivery=[mode for mode, _ in delivery] if given else ["self_paced"],
            enrolment=enrolment,
            prerequisites=prerequisites,
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
    return PackReader(problems).pack(data)
