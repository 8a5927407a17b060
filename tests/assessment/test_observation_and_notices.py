from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from assessment import services
from assessment.marking import services as marking
from assessment.models import Attempt, AuditEvent
from delivery.services import enrol_learner
from tests.factories import assessable_unit


def test_an_assessor_records_an_observation_with_date_and_place(
    client_for: Any, assessor: Any, learner: Any, cohort: Any
) -> None:
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=2, kind="observation")
    client = client_for(assessor)
    response = client.post(
        f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/tasks/{made['task'].pk}/observe"
    )
    attempt = Attempt.objects.get()
    assert response["Location"] == f"/assess/attempts/{attempt.pk}/mark/"
    data = {
        "version": attempt.version, "declared": "on", "feedback": "Calm and thorough.",
        "result-q1": "S", "result-q2": "S", "observed_on": "2026-11-27",
        "observed_at_place": "Ward 3, Riverbend Hospital",
    }  # fmt: skip
    assert client.post(f"/assess/attempts/{attempt.pk}/mark/", data).status_code == 302
    attempt.refresh_from_db()
    assert (attempt.result, attempt.observed_on) == ("S", dt.date(2026, 11, 27))
    assert AuditEvent.objects.filter(action="observation.started").exists()


def test_an_observation_needs_its_date_and_place(assessor: Any, learner: Any, cohort: Any) -> None:
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=1, kind="observation")
    attempt = services.start_observation(assessor, learner, made["task"], cohort)
    with pytest.raises(ValidationError, match="date and place of the observation"):
        marking.mark_attempt(
            attempt, assessor=assessor, judgements=[marking.ItemJudgement("q1", "S")],
            feedback="", declared=True, version=attempt.version,
        )  # fmt: skip
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED


def test_a_learner_cannot_be_observed_by_an_assessor_of_another_cohort(
    client_for: Any, other_assessor: Any, learner: Any, cohort: Any
) -> None:
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=1, kind="observation")
    response = client_for(other_assessor).post(
        f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/tasks/{made['task'].pk}/observe"
    )
    assert response.status_code == 404
    assert not Attempt.objects.exists()


def test_the_learner_is_emailed_the_feedback_after_commit(
    learner: Any,
    assessor: Any,
    cohort: Any,
    written: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    draft = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(draft, learner=learner, answers={"q1": "a", "q2": "b"})
    attempt = services.submit_attempt(draft, learner=learner, declared=True)
    with django_capture_on_commit_callbacks(execute=True):
        marking.mark_attempt(
            attempt, assessor=assessor, judgements=[
                marking.ItemJudgement("q1", "S"),
                marking.ItemJudgement("q2", "NS", "Name all five moments."),
            ], feedback="Nearly there.", declared=True, version=attempt.version,
        )  # fmt: skip
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [learner.email]
    assert "Not satisfactory" in message.subject
    assert "Nearly there." in message.body
    assert "q2: Not satisfactory. Name all five moments." in message.body


def test_the_learner_is_not_offered_an_observation_to_start(
    client_for: Any, learner: Any, cohort: Any
) -> None:
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=1, kind="observation")
    url = f"/assess/cohorts/{cohort.pk}/tasks/{made['task'].pk}/"
    client = client_for(learner)
    html = client.get(url).content.decode()
    assert "records this observation" in html
    assert ">Start<" not in html
    # Posting the start anyway (an old page) creates nothing and says why.
    told = client.post(url, follow=True).content.decode()
    assert "nothing for you to start" in told
    assert not Attempt.objects.exists()
    with pytest.raises(ValidationError, match="records this observation"):
        services.start_attempt(learner, made["task"], cohort)
