from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.core import mail
from django.utils import timezone

from assessment import services
from assessment.marking.digests import send_marking_digests
from assessment.tasks import send_marking_digests as digest_task


def submit(learner: Any, written: dict[str, Any], cohort: Any) -> None:
    attempt = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(attempt, learner=learner, answers={"q1": "a", "q2": "b"})
    services.submit_attempt(attempt, learner=learner, declared=True)


def test_each_assessor_gets_a_digest_of_their_new_submissions(
    learner: Any, assessor: Any, other_assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    submit(learner, written, cohort)
    assert send_marking_digests(since=timezone.now() - timedelta(days=1)) == 1
    (message,) = mail.outbox
    assert message.to == [assessor.email]
    assert message.subject == "1 new submission to mark"
    assert f"- {cohort.name}: 1 new, 1 waiting in all" in message.body


def test_nobody_is_emailed_when_nothing_is_new(
    learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        submit(learner, written, cohort)
    assert send_marking_digests(since=timezone.now() - timedelta(days=1)) == 0
    assert mail.outbox == []


def test_the_periodic_task_calls_the_service(
    learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    submit(learner, written, cohort)
    assert digest_task.delay(hours=24).get() == 1
