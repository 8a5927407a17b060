"""Defining pathways (staff pages and content packs), a learner's goals, and the milestone
credentials a learner earns on reaching a step."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from catalogue.models import Goal, Pathway, PathwayStep
from catalogue.pathways import rules
from catalogue.pathways.selectors import (
    describe_achievements,
    held_in_force,
    pathway_info,
    step_is_met,
)
from credentials.models import Achievement, Credential
from credentials.services.achievements import achievement_for_course, achievement_for_unit
from credentials.services.milestones import issue_milestone_credential
from delivery.models import Course, Unit

logger = logging.getLogger(__name__)


def achievement_for_code(code: str) -> Achievement:
    """The achievement a step or goal names by code: a unit's (the register's code wins, as a
    single-unit course has no credential of its own), a course's, or a milestone's own code.
    Raises ValidationError for a code nothing has."""
    code = code.strip()
    unit = Unit.objects.filter(code__iexact=code).first()
    if unit is not None:
        return achievement_for_unit(unit)
    course = Course.objects.filter(code__iexact=code).first()
    if course is not None:
        return achievement_for_course(course)
    milestone = Achievement.objects.filter(
        human_code__iexact=code, unit__isnull=True, course__isnull=True
    ).first()
    if milestone is not None:
        return milestone
    raise ValidationError(f"No unit, course or milestone has the code “{code}”.")


def split_codes(text: str) -> list[str]:
    """Codes as staff type them: separated by commas, spaces or new lines."""
    return [code for code in text.replace(",", " ").split() if code]


def _raise(problems: Sequence[rules.Problem]) -> None:
    if problems:
        raise ValidationError([problem.message for problem in problems])


@transaction.atomic
def create_pathway(*, key: str, title: str, summary: str = "", goal_code: str) -> Pathway:
    """A new, unpublished pathway. Raises ValidationError for a taken key or an unknown goal."""
    if Pathway.objects.filter(key=key).exists():
        raise ValidationError(f"A pathway with the key “{key}” exists already.")
    goal = achievement_for_code(goal_code)
    return Pathway.objects.create(key=key, title=title, summary=summary, goal=goal)


@transaction.atomic
def update_pathway(pathway: Pathway, *, title: str, summary: str, goal_code: str) -> Pathway:
    """Change what the pathway says and its goal. A published pathway stays publishable: a goal
    its steps do not lead to is refused (ValidationError), nothing changed."""
    pathway.title, pathway.summary = title, summary
    pathway.goal = achievement_for_code(goal_code)
    if pathway.published:
        _raise(rules.check_pathway(pathway_info(pathway)))
    pathway.save()
    return pathway


@transaction.atomic
def save_step(
    pathway: Pathway,
    *,
    step: PathwayStep | None = None,
    key: str,
    title: str,
    requirement: str,
    choose: int | None,
    codes: Sequence[str],
    after: Sequence[str] = (),
    position: int | None = None,
    milestone_name: str = "",
    milestone_description: str = "",
) -> PathwayStep:
    """Add or change one step, checked with the whole pathway: a step that could never be met
    or an `after` link closing a cycle is refused with ValidationError, nothing saved. The
    milestone (a name) creates or renames the step's milestone achievement; an empty name
    takes the milestone off the step (credentials already issued stay)."""
    errors: list[str] = []
    achievements: list[Achievement] = []
    for code in codes:
        try:
            achievements.append(achievement_for_code(code))
        except ValidationError as error:
            errors.extend(error.messages)
    taken = pathway.steps.filter(key=key)
    if step is not None:
        taken = taken.exclude(pk=step.pk)
    if taken.exists():
        errors.append(f"The pathway has a step with the key “{key}” already.")
    if errors:
        raise ValidationError(errors)
    described = describe_achievements(achievements)
    info = rules.StepInfo(
        key=key,
        title=title,
        requirement=requirement,
        choose=choose if requirement == rules.CHOICE else None,
        achievements=[described[a.pk] for a in achievements],
        after=list(after),
    )
    others = [s for s in pathway_info(pathway).steps if step is None or s.key != step.key]
    _raise(rules.check_step(info) + rules.check_order([*others, info]))
    if pathway.published:
        _raise(rules.check_pathway(rules.PathwayInfo(pathway_info(pathway).goal, [*others, info])))

    if step is None:
        step = PathwayStep(pathway=pathway)
        if position is None:
            position = (
                pathway.steps.order_by("-position").values_list("position", flat=True).first() or 0
            ) + 1
    step.key, step.title, step.requirement = key, title, requirement
    step.choose = info.choose
    if position is not None:
        step.position = position
    step.milestone = milestone_for_step(pathway, step, milestone_name, milestone_description)
    step.save()
    step.achievements.set(achievements)
    step.after.set(pathway.steps.filter(key__in=after).exclude(pk=step.pk))
    return step


def milestone_for_step(
    pathway: Pathway, step: PathwayStep, name: str, description: str
) -> Achievement | None:
    name = name.strip()
    if not name:
        return None
    milestone = step.milestone
    narrative = f"Reached the step “{step.title}” of the pathway “{pathway.title}”."
    if milestone is None:
        return Achievement.objects.create(
            name=name,
            description=description.strip() or narrative,
            criteria_narrative=narrative,
            human_code=f"{pathway.key}-{step.key}"[:40].upper(),
        )
    milestone.name = name
    milestone.description = description.strip() or narrative
    milestone.criteria_narrative = narrative
    milestone.save(update_fields=["name", "description", "criteria_narrative"])
    return milestone


@transaction.atomic
def delete_step(step: PathwayStep) -> None:
    """Remove a step; refused (ValidationError) when it would leave a published pathway unable
    to reach its goal."""
    pathway = step.pathway
    if pathway.published:
        info = pathway_info(pathway)
        remaining = [s for s in info.steps if s.key != step.key]
        _raise(rules.check_pathway(rules.PathwayInfo(info.goal, remaining)))
    step.delete()


@transaction.atomic
def publish_pathway(pathway: Pathway, *, published: bool) -> Pathway:
    """Publish (every rule checked: ValidationError lists each problem) or withdraw."""
    if published:
        _raise(rules.check_pathway(pathway_info(pathway)))
    pathway.published = published
    pathway.save(update_fields=["published"])
    return pathway


@transaction.atomic
def set_goal(learner: Any, pathway: Pathway, *, on: bool = True) -> Goal | None:
    """Work toward a published pathway (twice is harmless), or stop."""
    if not on:
        Goal.objects.filter(learner=learner, pathway=pathway).delete()
        return None
    goal, _ = Goal.objects.get_or_create(learner=learner, pathway=pathway)
    return goal


def award_milestones(credential: Credential) -> list[Credential]:
    """Issue each milestone `credential` lets its learner reach: a step of a published pathway
    whose requirement is now met, and a milestone goal once every required and "choose" step
    is. Each is issued once (issue_milestone_credential is idempotent); a milestone credential
    reaching further milestones is handled when its own `credential_issued` arrives."""
    learner = credential.learner
    pathways = list(
        Pathway.objects.filter(published=True, steps__achievements=credential.achievement)
        .distinct()
        .select_related("goal")
        .prefetch_related("steps__achievements", "steps__milestone")
    )
    pathways += list(
        Pathway.objects.filter(published=True, steps__milestone=credential.achievement)
        .exclude(pk__in=[p.pk for p in pathways])
        .distinct()
        .select_related("goal")
        .prefetch_related("steps__achievements", "steps__milestone")
    )
    if not pathways:
        return []
    held = held_in_force(learner)
    issued: list[Credential] = []
    for pathway in pathways:
        steps = list(pathway.steps.all())
        met = {step.pk: step_is_met(step, step.achievements.all(), held) for step in steps}
        for step in steps:
            if step.milestone is not None and met[step.pk] and step.milestone_id not in held:
                issued.append(_award(learner, step.milestone, credential))
        counted = [s for s in steps if s.requirement != PathwayStep.Requirement.OPTIONAL]
        if (
            pathway.goal.is_milestone
            and pathway.goal_id not in held
            and counted
            and all(met[s.pk] for s in counted)
        ):
            issued.append(_award(learner, pathway.goal, credential))
    return issued


def _award(learner: Any, milestone: Achievement, reached_by: Credential) -> Credential:
    return issue_milestone_credential(learner, milestone, reached_by=reached_by)


def on_credential_issued(sender: Any, *, credential: Credential, **kwargs: Any) -> None:
    """`credential_issued` receiver: milestones are a consequence, never a reason for the
    issuance that triggered them to fail, so an error is logged, not raised."""
    try:
        award_milestones(credential)
    except Exception:
        logger.exception("Milestones for credential %s could not be issued", credential.pk)
