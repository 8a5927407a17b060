"""Data for `bench/records.py`, built in the scratch database by a child process: the queue
benchmark's 20,000 attempts (5,000 learners in 50 cohorts), half the learners with an outcome,
and an auditor's session. Prints one JSON line."""

from __future__ import annotations

import json
from typing import Any


def build() -> dict[str, Any]:
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from bench.data import cookie_for, query_count, queue
    from delivery.roles import Role
    from delivery.services import grant_role

    # By app label, not module path: the assessment app's modules are being moved into rooms.
    Attempt = apps.get_model("assessment", "Attempt")
    Outcome = apps.get_model("assessment", "Outcome")

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
    record_path = reverse(
        "assessment:record", args=[sample.cohort_id, sample.learner_id, sample.task.unit_id]
    )
    search_path = reverse("assessment:audit_search") + "?unit=QUEUE01&outcome=20&sort=learner"
    return {
        "cookie": cookie_for(auditor),
        "search_path": search_path,
        "record_path": record_path,
        "search_queries": query_count(auditor, search_path),
        "record_queries": query_count(auditor, record_path),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build()))
