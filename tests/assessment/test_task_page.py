"""The learner's side: the task list, the task page, autosave and submit, in the browser's
terms (plain forms and htmx)."""

from __future__ import annotations

from typing import Any

from assessment import services
from assessment.marking import services as marking
from assessment.models import Attempt


def task_url(cohort: Any, task: Any) -> str:
    return f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/"


def test_it_lists_the_courses_tasks_with_their_status(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    html = client_for(learner).get(f"/assess/cohorts/{cohort.pk}/tasks/").content.decode()
    assert written["task"].title in html
    assert "Not started" in html


def test_the_learner_starts_answers_and_submits(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    url = task_url(cohort, written["task"])
    assert b"You can start this task now." in client.get(url).content
    assert client.post(url).status_code == 302
    attempt = Attempt.objects.get()
    page = client.get(url).content.decode()
    assert 'name="answer-q1"' in page
    assert "Upload" in page  # the evidence widget

    saved = client.post(
        f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "Hand hygiene"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert saved.status_code == 200
    assert b"Saved" in saved.content
    assert b"Hand hygiene" in client.get(url).content  # still there on return

    response = client.post(
        f"/assess/attempts/{attempt.pk}/submit",
        {"answer-q1": "Hand hygiene", "answer-q2": "Gloves", "declared": "on"},
    )
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    assert b"Waiting for marking" in client.get(url).content


def test_submitting_without_the_declaration_keeps_the_draft_and_the_answers(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = services.start_attempt(learner, written["task"], cohort)
    response = client.post(
        f"/assess/attempts/{attempt.pk}/submit",
        {"answer-q1": "Hand hygiene", "answer-q2": "Gloves"},
        follow=True,
    )
    assert b"Tick the declaration" in response.content
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DRAFT
    assert attempt.answers.get(item__key="q2").text == "Gloves"


def test_a_double_submit_is_told_it_was_already_submitted(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = services.start_attempt(learner, written["task"], cohort)
    data = {"answer-q1": "a", "answer-q2": "b", "declared": "on"}
    client.post(f"/assess/attempts/{attempt.pk}/submit", data)
    again = client.post(f"/assess/attempts/{attempt.pk}/submit", data, follow=True)
    assert b"already been submitted" in again.content
    assert Attempt.objects.filter(status="submitted").count() == 1


def test_autosave_reports_a_bad_answer_without_losing_saved_ones(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = services.start_attempt(learner, written["task"], cohort)
    client.post(f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "kept"})
    response = client.post(
        f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "x" * 50_001},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 400
    assert b"Not saved" in response.content
    assert attempt.answers.get(item__key="q1").text == "kept"


def test_an_autosave_arriving_after_the_submit_is_answered_quietly(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = services.start_attempt(learner, written["task"], cohort)
    data = {"answer-q1": "Hand hygiene", "answer-q2": "Gloves"}
    client.post(f"/assess/attempts/{attempt.pk}/submit", data | {"declared": "on"})
    late = client.post(
        f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "changed"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert late.status_code == 204  # htmx swaps nothing and logs no error
    assert attempt.answers.get(item__key="q1").text == "Hand hygiene"
    # The plain Save button is still told, and the other learner still finds nothing.
    plain = client.post(f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "changed"})
    assert plain.status_code == 403
    assert attempt.answers.get(item__key="q1").text == "Hand hygiene"


def test_another_learner_cannot_touch_the_draft(
    client_for: Any, learner: Any, other_learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    attempt = services.start_attempt(learner, written["task"], cohort)
    client = client_for(other_learner)
    assert client.post(f"/assess/attempts/{attempt.pk}/save", {"answer-q1": "x"}).status_code == 404
    assert client.post(f"/assess/attempts/{attempt.pk}/submit", {}).status_code == 404
    assert client.get(task_url(cohort, written["task"])).status_code == 404
    assert not attempt.answers.exists()


def test_a_task_of_another_course_is_not_found(
    client_for: Any, learner: Any, cohort: Any, other_cohort: Any, written: dict[str, Any]
) -> None:
    from tests.factories import assessable_unit

    elsewhere = assessable_unit(course=other_cohort.course)
    assert client_for(learner).get(task_url(cohort, elsewhere["task"])).status_code == 404


def test_staff_cannot_use_the_learner_pages(
    client_for: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    assert client_for(assessor).get(task_url(cohort, written["task"])).status_code == 403


def test_marked_attempts_name_questions_by_number_never_by_key(
    client_for: Any, learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    """Issue 14: people read words, not internal codes: "Question 2", never "q2"."""
    attempt = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(attempt, learner=learner, answers={"q1": "One", "q2": "Two"})
    services.submit_attempt(attempt, learner=learner, declared=True)
    attempt.refresh_from_db()
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[
            marking.ItemJudgement("q1", "S", ""),
            marking.ItemJudgement("q2", "NS", "Name all five moments."),
        ],
        feedback="Nearly there.",
        declared=True,
        version=attempt.version,
    )
    client = client_for(learner)
    for url in (task_url(cohort, written["task"]), f"/assess/attempts/{attempt.pk}/"):
        html = client.get(url).content.decode()
        assert "<strong>Question 2</strong>: Not satisfactory — Name all five moments." in html
        assert "<strong>q2</strong>" not in html
