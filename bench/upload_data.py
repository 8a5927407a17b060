"""Builds the upload benchmark's data in the scratch database. Run in a child process with the
scratch environment: `python -m bench.upload_data` prints a JSON line the benchmark reads (a
learner's session and CSRF token, and the tus endpoint of their draft attempt)."""

from __future__ import annotations

import json
from typing import Any


def upload() -> dict[str, Any]:
    """A learner enrolled in a one-unit course with a project task, and their draft attempt."""
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from assessment.models import Attempt, Item, Task
    from delivery.models import Cohort, Course, CourseUnit, Enrolment, Unit
    from delivery.roles import Role
    from delivery.services import grant_role

    with transaction.atomic():
        learner = get_user_model().objects.create_user("bench-uploader", "u@example.test", "x")
        grant_role(learner, Role.LEARNER)
        unit = Unit.objects.create(code="BENCHUP001", title="Filming your practice")
        course = Course.objects.create(
            code="BENCHUP", title="Bench uploads", kind=Course.Kind.SKILL_SET
        )
        CourseUnit.objects.create(course=course, unit=unit, position=1)
        cohort = Cohort.objects.create(course=course, name="Bench", starts_on=timezone.now().date())
        Enrolment.objects.create(learner=learner, cohort=cohort)
        task = Task.objects.create(unit=unit, key="video", title="Film it", kind="project")
        Item.objects.create(task=task, key="video", kind="long_answer", prompt="Your video")
        attempt = Attempt.objects.create(task=task, learner=learner, cohort=cohort)

    store = SessionStore()
    store["_auth_user_id"] = str(learner.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = learner.get_session_auth_hash()
    store.create()
    try:
        endpoint = reverse("assessment:evidence_upload_create", args=[attempt.pk])
    except NoReverseMatch:
        endpoint = ""
    return {
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "session": store.session_key,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        # An unmasked CSRF secret is a valid token in both the cookie and the header.
        "csrf": get_random_string(32),
        "endpoint": endpoint,
        "media_root": str(settings.MEDIA_ROOT),
    }


if __name__ == "__main__":
    print(json.dumps(upload()))
