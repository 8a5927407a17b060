"""Data for `bench/records.py`, built in the scratch database by a child process: the queue
benchmark's 20,000 attempts (5,000 learners in 50 cohorts), half the learners with an outcome,
and an auditor's session. Prints one JSON line."""

from __future__ import annotations

import json
from typing import Any


def build() -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assessment.models import Attempt, Outcome
    from bench.data import queue
    from delivery.roles import Role
    from delivery.services import grant_role

    queue()  # 20,000 attempts, 5,000 learners, 50 cohorts
    users = get_user_model().objects
    auditor = users.create_user("bench-auditor", "audrey@example.test", "x")
    grant_role(auditor, Role.AUDITOR)
    assessor = users.get(username="bench-assessor")
    first_attempts = Attempt.objects.filter(number=1).select_related("task")
    Outcome.objects.bulk_create(
        (
            Outcome(
                learner_id=a.learner_id,
                unit_id=a.task.unit_id,
                cohort_id=a.cohort_id,
                code="20",
                recorded_by=assessor,
            )
            for a in first_attempts[:2500]
        ),
        batch_size=1000,
    )
    sample = Attempt.objects.filter(number=1).select_related("task").first()
    assert sample is not None  # noqa: S101 - a bench precondition
    record_path = f"/assess/records/{sample.cohort_id}/{sample.learner_id}/{sample.task.unit_id}/"
    search_path = "/assess/records/?unit=QUEUE01&outcome=20&sort=learner"

    store = SessionStore()
    store["_auth_user_id"] = str(auditor.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = auditor.get_session_auth_hash()
    store.create()

    def queries(path: str) -> int:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(auditor)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return len(captured)

    return {
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "session": str(store.session_key),
        "search_path": search_path,
        "record_path": record_path,
        "search_queries": queries(search_path),
        "record_queries": queries(record_path),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build()))
