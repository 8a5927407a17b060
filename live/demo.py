"""The live part of the demo data (delivery's `seed_demo` sends `demo_seeded`): a drop-in
session open now, so a newcomer can join the room as the trainer and as learners at once, a
tutorial later in the week with pre-work, so the dashboard shows what is coming, and last week's
tutorial, ended, with its attendance (one learner late, one absent), chat and a question."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from delivery.models import Cohort, Module
from live.models import Attendance, ChatMessage, LiveSession, Presence, Question
from live.services import finalise_attendance, schedule_session


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
    _ended_tutorial(cohort, users, prework=list(first_module))


def _ended_tutorial(cohort: Cohort, users: dict[str, Any], *, prework: list[Module]) -> None:
    """Recorded as the room records it (attendance and presences as people came and went), but
    in the past: the room's services work on "now"."""
    trainer = users["trainer"]
    day = timezone.localtime(timezone.now() - timedelta(days=5)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    session = schedule_session(
        cohort,
        by=trainer,
        title="Tutorial: the chain of infection in your workplace",
        description="Scenarios from your own work, after the first module.",
        starts_at=day,
        ends_at=day + timedelta(hours=1),
        trainers=[trainer],
        meeting_url="https://meet.jit.si/flipside-demo-tutorial-1",
        prework=prework,
    )
    # Lena and Liam on time, Mia 20 minutes late and gone early; Noah did not come.
    for username, joined, left, late in [
        ("trainer", 0, 60, False),
        ("learner", 1, 60, False),
        ("learner2", 3, 58, False),
        ("learner3", 20, 45, True),
    ]:
        attendance = Attendance.objects.create(
            session=session,
            user=users[username],
            first_joined_at=day + timedelta(minutes=joined),
            late=late,
        )
        Presence.objects.create(
            attendance=attendance,
            joined_at=day + timedelta(minutes=joined),
            left_at=day + timedelta(minutes=left),
        )
    ChatMessage.objects.create(
        session=session,
        author=users["learner"],
        text="Is a mask enough for droplet precautions?",
        created_at=day + timedelta(minutes=12),
    )
    ChatMessage.objects.create(
        session=session,
        author=trainer,
        text="With eye protection too, when there is a splash risk.",
        created_at=day + timedelta(minutes=13),
    )
    Question.objects.create(
        session=session,
        author=users["learner2"],
        text="Which bin do used gloves go in?",
        created_at=day + timedelta(minutes=30),
        answered_at=day + timedelta(minutes=33),
    )
    session.ended_at = day + timedelta(hours=1)
    session.save(update_fields=["ended_at"])
    finalise_attendance(session)
