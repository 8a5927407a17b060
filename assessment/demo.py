"""The assessment part of the demo data (see delivery's `seed_demo` and its demo_seeded signal)."""

from __future__ import annotations

from typing import Any

from assessment.models import Attempt, Task
from assessment.services import save_answers, start_attempt, submit_attempt
from delivery.models import Cohort, Resource
from delivery.services import mark_resource_done


def seed(sender: Any, users: dict[str, Any], **kwargs: Any) -> None:
    """Liam has finished the first unit's modules and submitted its quiz, so the assessor's
    queue has something in it. Goes through the same services a learner's clicks do; once."""
    learner = users["learner2"]
    task = Task.objects.filter(unit__code="HLTINF006", key="basics-quiz").first()
    cohort = Cohort.objects.filter(name="Demo cohort", course__code="HLTSS00065").first()
    if task is None or cohort is None:
        return
    if Attempt.objects.filter(learner=learner, task=task).exists():
        return
    for resource in Resource.objects.filter(module__course_unit__unit__code="HLTINF006"):
        mark_resource_done(learner, resource)
    attempt = start_attempt(learner, task, cohort)
    answers: dict[str, Any] = {
        item.key: [str(i) for i in item.correct] if item.auto_marked else "I would ask first."
        for item in task.items.all()
    }
    save_answers(attempt, learner=learner, answers=answers)
    submit_attempt(attempt, learner=learner, declared=True)
