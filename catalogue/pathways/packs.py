"""The `pathways:` key of a content pack (docs/content-packs.md, "Pathways"): read with file
and line, checked by the same rules as the staff pages (catalogue/pathways/rules.py) against
the pack and the catalogue, written in the import's transaction, and exported for the
courses exported. Registered in CatalogueConfig.ready() (delivery.packs.pack_sections)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalogue.models import Pathway, PathwayStep
from catalogue.pathways import rules
from catalogue.pathways.selectors import describe_codes
from catalogue.pathways.services import achievement_for_code, milestone_for_step
from delivery.models import Course, Unit
from delivery.packs.pack_sections import TopWriteContext
from delivery.packs.problems import Problems, Where, check_unique
from delivery.packs.reader import Reader
from delivery.packs.specs import PackSpec

STEP_KEYS = ("title", "requirement", "choose", "achievements", "after", "milestone")


@dataclass
class MilestoneSpec:
    name: str
    description: str


@dataclass
class StepSpec:
    key: str
    title: str
    requirement: str
    choose: int | None
    achievements: list[tuple[str, Where]]
    after: list[tuple[str, Where]]
    milestone: MilestoneSpec | None
    where: Where


@dataclass
class PathwaySpec:
    key: str
    title: str
    summary: str
    goal: str
    published: bool
    steps: list[StepSpec]
    where: Where
    goal_where: Where


@dataclass
class PathwaysSpec:
    pathways: list[PathwaySpec] = field(default_factory=list)


class PathwaysSection:
    key = "pathways"
    tallies: tuple[str, ...] = ("pathways", "pathway steps")

    # --- read

    def read(self, value: Any, where: Where, reader: Reader) -> PathwaysSpec | None:
        specs = []
        for item, item_where in reader.list_items(value, where):
            spec = self._pathway(item, item_where, reader)
            if spec is not None:
                specs.append(spec)
        return PathwaysSpec(specs)

    def _pathway(self, value: Any, where: Where, reader: Reader) -> PathwaySpec | None:
        found = reader.mapping(
            value,
            where,
            required=("key", "title", "goal", "steps"),
            optional=("summary", "published"),
        )
        if found is None:
            return None
        m, here = found
        key = reader.slug(m, here, "key") if "key" in m else None
        title = reader.line_text(m, here, "title", required=True)
        goal = reader.line_text(m, here, "goal", required=True)
        summary = reader.text(m, here, "summary")
        published = reader.flag(m, here, "published", default=True)
        steps = [
            step
            for item, step_where in reader.items(m, here, "steps")
            if (step := self._step(item, step_where, reader)) is not None
        ]
        if key is None or title is None or goal is None or published is None:
            return None
        return PathwaySpec(key, title, summary or "", goal, published, steps, here, here.at("goal"))

    def _step(self, value: Any, where: Where, reader: Reader) -> StepSpec | None:
        found = reader.mapping(value, where, required=("key", "achievements"), optional=STEP_KEYS)
        if found is None:
            return None
        m, here = found
        key = reader.slug(m, here, "key")
        title = reader.line_text(m, here, "title") or ""
        requirement = reader.choice(
            m, here, "requirement", list(rules.REQUIREMENTS), default="required"
        )
        choose = reader.number(m, here, "choose", minimum=1)
        achievements = [
            (text.strip(), item_where)
            for item, item_where in reader.items(m, here, "achievements")
            if (text := reader.text_value(item, item_where)) is not None
        ]
        after = [
            (text.strip(), item_where)
            for item, item_where in reader.items(m, here, "after")
            if (text := reader.text_value(item, item_where)) is not None
        ]
        milestone = None
        if m.get("milestone") is not None:
            inner = reader.mapping(
                m["milestone"], here.at("milestone"), required=("name",), optional=("description",)
            )
            if inner is not None:
                mm, mhere = inner
                name = reader.line_text(mm, mhere, "name", required=True)
                if name is not None:
                    milestone = MilestoneSpec(name, reader.text(mm, mhere, "description") or "")
        if key is None or requirement is None:
            return None
        return StepSpec(
            key, title or key, requirement, choose, achievements, after, milestone, here
        )

    # --- check

    def check(self, spec: PathwaysSpec, pack: PackSpec, problems: Problems) -> None:
        check_unique(
            [(p.key, p.where.at("key")) for p in spec.pathways], "pathway", " in the pack", problems
        )
        codes = {code for p in spec.pathways for s in p.steps for code, _ in s.achievements}
        codes |= {p.goal for p in spec.pathways}
        known = self._describe(codes, pack)
        for pathway in spec.pathways:
            where_of = {step.key: step.where for step in pathway.steps}
            steps = []
            for step in pathway.steps:
                infos = []
                for code, code_where in step.achievements:
                    info = known.get(code.upper())
                    if info is None:
                        problems.add(
                            code_where, f"no unit, course or milestone has the code {code!r}"
                        )
                    else:
                        infos.append(info)
                steps.append(
                    rules.StepInfo(
                        key=step.key,
                        title=step.title,
                        requirement=step.requirement,
                        choose=step.choose,
                        achievements=infos,
                        after=[key for key, _ in step.after],
                    )
                )
            goal = known.get(pathway.goal.upper())
            if goal is None:
                problems.add(
                    pathway.goal_where,
                    f"no unit, course or milestone has the code {pathway.goal!r}",
                )
            whole = rules.PathwayInfo(goal, steps)
            for problem in rules.check_pathway(whole, complete=goal is not None):
                problems.add(where_of.get(problem.step, pathway.where), problem.message)

    def _describe(self, codes: set[str], pack: PackSpec) -> dict[str, rules.AchievementInfo]:
        """The pack's own units and courses as they will be once imported (a pack's course is
        taken as offered: publishing it is the catalogue's business), the rest from the
        catalogue."""
        found = describe_codes(codes)
        in_courses = {cu.unit for course in pack.courses for cu in course.units}
        units_elsewhere = describe_codes({u.code for u in pack.units if u.code not in in_courses})
        for unit in pack.units:
            problem = ""
            if unit.status != Unit.Status.CURRENT:
                problem = f"is a {unit.status} unit"
            elif unit.code not in in_courses:
                existing = units_elsewhere.get(unit.code.upper())
                problem = existing.problem if existing else "is in no course"
            found[unit.code.upper()] = rules.AchievementInfo(
                unit.code, unit.title, "unit", frozenset({unit.code}), problem
            )
        for course in pack.courses:
            if course.code.upper() in {u.code.upper() for u in pack.units}:
                continue
            problem = ""
            if course.kind == Course.Kind.UNIT:
                problem = "is a single-unit course, with no credential of its own: name its unit"
            found[course.code.upper()] = rules.AchievementInfo(
                course.code,
                course.title,
                "course",
                frozenset(cu.unit for cu in course.units),
                problem,
            )
        return found

    # --- write

    def write(self, spec: PathwaysSpec, context: TopWriteContext) -> None:
        for pathway_spec in spec.pathways:
            self._write_pathway(pathway_spec, context)

    def _write_pathway(self, spec: PathwaySpec, context: TopWriteContext) -> None:
        goal = achievement_for_code(spec.goal)
        pathway = Pathway.objects.filter(key=spec.key).first()
        created = pathway is None
        values = {
            "title": spec.title,
            "summary": spec.summary,
            "goal": goal,
            "published": spec.published,
        }
        if pathway is None:
            pathway = Pathway.objects.create(key=spec.key, **values)
            changed = True
        else:
            changed = any(getattr(pathway, k) != v for k, v in values.items())
            for name, value in values.items():
                setattr(pathway, name, value)
            pathway.save()
        context.count("pathways", created=created, changed=changed)
        existing = {step.key: step for step in pathway.steps.select_related("milestone")}
        steps: dict[str, PathwayStep] = {}
        for position, step_spec in enumerate(spec.steps, start=1):
            step = existing.pop(step_spec.key, None)
            is_new = step is None
            step = step or PathwayStep(pathway=pathway, key=step_spec.key)
            step.title = step_spec.title
            step.position = position
            step.requirement = step_spec.requirement
            step.choose = step_spec.choose if step_spec.requirement == rules.CHOICE else None
            step.milestone = milestone_for_step(
                pathway,
                step,
                step_spec.milestone.name if step_spec.milestone else "",
                step_spec.milestone.description if step_spec.milestone else "",
            )
            step.save()
            step.achievements.set(
                [achievement_for_code(code) for code, _ in step_spec.achievements]
            )
            steps[step.key] = step
            context.count("pathway steps", created=is_new, changed=True)
        for step_spec in spec.steps:
            steps[step_spec.key].after.set([steps[key] for key, _ in step_spec.after])
        for gone in existing.values():
            gone.delete()
            context.result.tallies["pathway steps"].deleted += 1

    # --- export

    def export(
        self, courses: Sequence[Course], units: Sequence[Unit], problems: list[str]
    ) -> list[dict[str, Any]] | None:
        """Pathways whose goal and every step name only what the export holds."""
        codes = {c.code.upper() for c in courses} | {u.code.upper() for u in units}
        exported = []
        for pathway in Pathway.objects.select_related("goal").prefetch_related(
            "steps__achievements", "steps__after", "steps__milestone"
        ):
            steps = list(pathway.steps.all())
            named = {a.human_code.upper() for s in steps for a in s.achievements.all()}
            if not steps or not named <= codes or pathway.goal.human_code.upper() not in codes:
                continue
            exported.append(
                {
                    "key": pathway.key,
                    "title": pathway.title,
                    **({"summary": pathway.summary} if pathway.summary else {}),
                    "goal": pathway.goal.human_code,
                    "published": pathway.published,
                    "steps": [_export_step(step) for step in steps],
                }
            )
        return exported or None


def _export_step(step: PathwayStep) -> dict[str, Any]:
    data: dict[str, Any] = {"key": step.key, "title": step.title}
    if step.requirement != rules.REQUIRED:
        data["requirement"] = step.requirement
    if step.choose:
        data["choose"] = step.choose
    data["achievements"] = [a.human_code for a in step.achievements.all()]
    if step.after.all():
        data["after"] = [b.key for b in step.after.all()]
    if step.milestone is not None:
        data["milestone"] = {"name": step.milestone.name, "description": step.milestone.description}
    return data


SECTION = PathwaysSection()
