"""Builds benchmark data in the scratch database. Run in a child process with the scratch
environment: `python -m bench.data dashboard` prints a JSON line the benchmark reads."""

from __future__ import annotations

import json
import random
import sys
from datetime import timedelta
from typing import Any


def _setup() -> None:
    import django

    django.setup()


def session_for(user: Any) -> str:
    """A signed-in session for `user` in the database, as a sign-in would leave it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def cookie_for(user: Any) -> str:
    """The Cookie header of a browser signed in as `user`: its session, and the CSRF cookie its
    first page set (without it, every page would mint a new CSRF secret and send it back, which
    no real visit does)."""
    from django.conf import settings
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    first_page = RequestFactory().get("/")
    get_token(first_page)
    return (
        f"{settings.SESSION_COOKIE_NAME}={session_for(user)}; "
        f"{settings.CSRF_COOKIE_NAME}={first_page.META['CSRF_COOKIE']}"
    )


def query_count(user: Any, path: str, *, visits: int = 2) -> int:
    """Queries of the last of `visits` visits to `path` signed in as `user` (after a first
    one, the session is read from the cache, as on every later visit)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    for _ in range(visits - 1):
        client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return len(captured)


def floor() -> dict[str, Any]:
    """A learner signed in, for the floor page alone (bench/baseline.py)."""
    from django.contrib.auth import get_user_model

    from delivery.roles import Role
    from delivery.services import grant_role

    user = get_user_model().objects.create_user(
        "bench-floor", "floor@example.test", "x", first_name="Flo", last_name="Orr"
    )
    grant_role(user, Role.LEARNER)
    return {"cookie": cookie_for(user)}


def dashboard() -> dict[str, Any]:
    """A learner in 5 courses of 200 resources each, and a cohort of 500 learners x 50 modules."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.urls import reverse
    from django.utils import timezone

    from delivery.models import (
        Cohort,
        Course,
        CourseUnit,
        Enrolment,
        Module,
        Resource,
        ResourceProgress,
        Unit,
    )
    from delivery.roles import Role
    from delivery.services import grant_role

    rng = random.Random(7)
    user_model = get_user_model()
    now = timezone.now()

    def course(code: str, modules: int, per_module: int) -> tuple[Course, list[Resource]]:
        c = Course.objects.create(code=code, title=f"Course {code}", kind=Course.Kind.SKILL_SET)
        units = [
            Unit.objects.create(code=f"{code}U{i}", title=f"Unit {i} of {code}") for i in range(2)
        ]
        cus = [CourseUnit.objects.create(course=c, unit=u, position=i) for i, u in enumerate(units)]
        mods = Module.objects.bulk_create(
            Module(
                course=c,
                course_unit=cus[i * 2 // modules],
                key=f"m{i}",
                title=f"Module {i}",
                position=i,
            )
            for i in range(modules)
        )
        Module.prerequisites.through.objects.bulk_create(
            Module.prerequisites.through(from_module_id=mods[i].id, to_module_id=mods[i - 1].id)
            for i in range(1, modules, 3)
        )
        resources = Resource.objects.bulk_create(
            Resource(
                module=m,
                key=f"r{j}",
                title=f"{m.title} resource {j}",
                kind="text",
                body="x",
                position=j,
            )
            for m in mods
            for j in range(per_module)
        )
        return c, resources

    with transaction.atomic():
        learner = user_model.objects.create_user("bench-learner", "l@example.test", "x")
        grant_role(learner, Role.LEARNER)
        for n in range(5):
            c, resources = course(f"DASH{n}", modules=20, per_module=10)
            cohort = Cohort.objects.create(course=c, name="Bench", starts_on=now.date())
            Enrolment.objects.create(learner=learner, cohort=cohort)
            ResourceProgress.objects.bulk_create(
                ResourceProgress(learner=learner, resource=r, completed_at=now)
                for r in resources[: rng.randint(20, 180)]
            )

        trainer = user_model.objects.create_user("bench-trainer", "t@example.test", "x")
        grant_role(trainer, Role.TRAINER)
        c, resources = course("GRID", modules=50, per_module=4)
        cohort = Cohort.objects.create(course=c, name="Big cohort", starts_on=now.date())
        cohort.trainers.add(trainer)
        learners = user_model.objects.bulk_create(
            user_model(username=f"bench-l{i}", first_name="Learner", last_name=f"{i:03d}")
            for i in range(500)
        )
        Enrolment.objects.bulk_create(Enrolment(learner=u, cohort=cohort) for u in learners)
        ResourceProgress.objects.bulk_create(
            (
                ResourceProgress(learner=u, resource=r, completed_at=now)
                for u in learners
                for r in resources[: rng.randint(0, len(resources))]
            ),
            batch_size=5000,
        )

    dashboard_path = reverse("delivery:dashboard")
    grid_path = reverse("delivery:cohort_progress", args=[cohort.pk])
    return {
        "learner_cookie": cookie_for(learner),
        "trainer_cookie": cookie_for(trainer),
        "dashboard_path": dashboard_path,
        "grid_path": grid_path,
        "dashboard_queries": query_count(learner, dashboard_path),
        "grid_queries": query_count(trainer, grid_path),
    }


def queue() -> dict[str, Any]:
    """20,000 submitted attempts across 50 cohorts; the assessor marks 10 of the cohorts."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    # By app label, not module path: the assessment app's modules are being moved into rooms.
    Answer, Attempt, Item, Task = (
        apps.get_model("assessment", name) for name in ("Answer", "Attempt", "Item", "Task")
    )
    from delivery.models import (
        Cohort,
        Course,
        CourseUnit,
        Element,
        Enrolment,
        PerformanceCriterion,
        Unit,
    )
    from delivery.roles import Role
    from delivery.services import grant_role

    user_model = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        assessor = user_model.objects.create_user("bench-assessor", "a@example.test", "x")
        grant_role(assessor, Role.ASSESSOR)
        unit = Unit.objects.create(code="QUEUE01", title="Queue unit")
        element = Element.objects.create(unit=unit, number=1, title="Element")
        tasks = []
        for t in range(4):
            task = Task.objects.create(unit=unit, key=f"t{t}", title=f"Task {t}", kind="written")
            for i in range(10):
                item = Item.objects.create(
                    task=task, key=f"q{i}", position=i, kind="short_answer", prompt=f"Question {i}?"
                )
                item.criteria.add(
                    PerformanceCriterion.objects.create(
                        element=element, number=f"1.{t * 10 + i + 1}", position=t * 10 + i, text="x"
                    )
                )
            tasks.append(task)
        course = Course.objects.create(code="QUEUE", title="Queue course")
        CourseUnit.objects.create(course=course, unit=unit, position=1)
        cohorts = Cohort.objects.bulk_create(
            Cohort(course=course, name=f"Cohort {c}", starts_on=now.date()) for c in range(50)
        )
        for cohort in cohorts[:10]:
            cohort.assessors.add(assessor)
        learners = user_model.objects.bulk_create(
            user_model(username=f"q-l{i}", first_name="Learner", last_name=f"{i:05d}")
            for i in range(5000)
        )
        Enrolment.objects.bulk_create(
            Enrolment(learner=u, cohort=cohorts[i % 50]) for i, u in enumerate(learners)
        )
        snapshot = {
            "task": {"version": 1},
            "items": [
                {
                    "key": f"q{i}",
                    "answer": {"text": "An answer", "choices": [], "carried_forward": False},
                }
                for i in range(10)
            ],
        }
        attempts = Attempt.objects.bulk_create(
            (
                Attempt(
                    task=tasks[n % 4],
                    learner=learners[n % 5000],
                    cohort=cohorts[(n % 5000) % 50],
                    number=1 + n // 5000,
                    status="submitted",
                    submitted_at=now - timedelta(minutes=n),
                    snapshot=snapshot,
                )
                for n in range(20000)
            ),
            batch_size=2000,
        )
        mine = next(a for a in attempts if a.cohort_id in {c.pk for c in cohorts[:10]})
        Answer.objects.bulk_create(
            Answer(attempt=mine, item=item, text="An answer") for item in mine.task.items.all()
        )

    queue_path = reverse("assessment:queue")
    mark_path = reverse("assessment:mark", args=[mine.pk])
    # "Start marking" claims the attempt; the marking page is then what is measured.
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(assessor)
    client.post(reverse("assessment:claim", args=[mine.pk]))
    return {
        "cookie": cookie_for(assessor),
        "queue_path": queue_path,
        "mark_path": mark_path,
        "queue_queries": query_count(assessor, queue_path),
        "mark_queries": query_count(assessor, mark_path),
    }


if __name__ == "__main__":
    _setup()
    print(json.dumps(globals()[sys.argv[1]]()))
