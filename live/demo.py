"""The live part of the demo data (delivery's `seed_demo` sends `demo_seeded`): a drop-in
session open now, so a newcomer can join the room as the trainer and as learners at once, and a
tutorial later in the week with pre-work, so the dashboard shows what is coming."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from delivery.models import Cohort, Module
from live.models import LiveSession
from live.services import schedule_session


def seed(sender: Any, users: dict[str, Any], **kwargs: Any) -> None:
    """Once per cohort: a second `seed_demo` finds the sessions and adds nothing."""
    cohort = Cohort.objects.filter(name="Demo cohort", course__code="HLTSS00065").first()
    if cohort is None or LiveSession.objects.filter(cohort=cohort).exists():
        return
    trainer = users["trainer"]
    now = timezone.now().replace(second=0, microsecond=0)
    schedule_session(
        cohort,
        by=trainer,
        title="Drop-in: your infection control questions",
        description="Bring what you found hard in the modules; we work through it together.",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=8),
        trainers=[trainer],
        meeting_url="https://meet.jit.si/flipside-demo-drop-in",
    )
    first_module = Module.objects.filter(course_unit__course=cohort.course).order_by(
        "course_unit__position", "position"
    )[:1]
    tutorial_day = timezone.localtime(now + timedelta(days=2)).replace(hour=10, minute=0)
    schedule_session(
        cohort,
        by=trainer,
        title="Tutorial: breaking the chain of infection",
        description="Come having done the first module: we will use the time for scenarios.",
        starts_at=tutorial_day,
        ends_at=tutorial_day + timedelta(hours=1),
        trainers=[trainer],
        meeting_url="https://meet.jit.si/flipside-demo-tutorial",
        prework=list(first_module),
    )
