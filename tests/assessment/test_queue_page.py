from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from assessment import services
from assessment.marking import services as marking
from assessment.models import Attempt
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.factories import CohortFactory, UserFactory, assessable_unit

URL = "/assess/queue/"


def submit(learner: Any, task: Any, cohort: Any) -> Attempt:
    attempt = services.start_attempt(learner, task, cohort)
    services.save_answers(attempt, learner=learner, answers={i.key: "x" for i in task.items.all()})
    return services.submit_attempt(attempt, learner=learner, declared=True)


@pytest.fixture
def waiting(cohort: Any, other_cohort: Any, learner: Any, other_learner: Any) -> dict[str, Any]:
    enrol_learner(learner, cohort)
    enrol_learner(other_learner, other_cohort)
    mine = assessable_unit(course=cohort.course)
    theirs = assessable_unit(course=other_cohort.course)
    with time_machine.travel("2026-11-20 09:00 +1100"):
        old = submit(learner, mine["task"], cohort)
    new = submit(other_learner, theirs["task"], other_cohort)
    return {"old": old, "new": new, "mine": mine}


def test_it_lists_only_attempts_in_the_assessors_cohorts_oldest_first(
    client_for: Any, assessor: Any, waiting: dict[str, Any]
) -> None:
    html = client_for(assessor).get(URL).content.decode()
    assert f"/assess/attempts/{waiting['old'].pk}/mark/" in html
    assert f"/assess/attempts/{waiting['new'].pk}/mark/" not in html
    assert "1 attempt waiting in your cohorts." in html


def test_it_filters_by_unit_task_cohort_and_waiting_time(
    client_for: Any, assessor: Any, cohort: Any, waiting: dict[str, Any]
) -> None:
    client = client_for(assessor)
    unit = waiting["mine"]["unit"]
    assert b"Lena" in client.get(URL, {"unit": unit.pk}).content
    assert (
        b"Lena"
        in client.get(URL, {"cohort": cohort.pk, "task": waiting["mine"]["task"].pk}).content
    )
    with time_machine.travel("2026-11-22 09:00 +1100"):
        assert b"Lena" in client.get(URL, {"waiting_days": 1}).content
        assert (
            b"Nothing is waiting with these filters" in client.get(URL, {"waiting_days": 7}).content
        )


def test_it_shows_who_is_marking(client_for: Any, assessor: Any, waiting: dict[str, Any]) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League")
    Attempt.objects.filter(pk=waiting["old"].pk).update(claimed_by=colleague)
    assert b"Cole League" in client_for(assessor).get(URL).content


def test_it_ignores_bad_filters(client_for: Any, assessor: Any, waiting: dict[str, Any]) -> None:
    response = client_for(assessor).get(URL, {"cohort": "x", "waiting_days": "-3"})
    assert response.status_code == 200
    assert b"Lena" in response.content


def test_it_refuses_other_methods(client_for: Any, assessor: Any) -> None:
    assert client_for(assessor).post(URL).status_code == 405


def test_it_refuses_a_trainer_and_a_learner(client_for: Any, trainer: Any, learner: Any) -> None:
    assert client_for(trainer).get(URL).status_code == 403
    assert client_for(learner).get(URL).status_code == 403


def _fill(assessor: Any, *, cohorts: int, learners: int) -> None:
    for _ in range(cohorts):
        cohort = CohortFactory(assessors=[assessor])
        made = assessable_unit(course=cohort.course)
        for _ in range(learners):
            learner = UserFactory()
            enrol_learner(learner, cohort)
            submit(learner, made["task"], cohort)


# session, user, roles, the counts per cohort and task, the cohorts' names, the tasks' names, the
# page: the assessor's cohorts are a subquery of each. The page's count comes from the counts,
# but for a waiting-time filter, which counts in one more.
QUEUE_QUERIES = 7


@pytest.mark.parametrize("who", ["assessor", "administrator"])
def test_its_query_count_does_not_grow_with_cohorts_or_attempts(
    client_for: Any,
    assessor: Any,
    administrator: Any,
    who: str,
    django_assert_max_num_queries: Any,
) -> None:
    _fill(assessor, cohorts=2, learners=3)
    client = client_for(assessor if who == "assessor" else administrator)
    with django_assert_max_num_queries(QUEUE_QUERIES):
        small = client.get(URL)
    assert b"6 attempts waiting" in small.content

    _fill(assessor, cohorts=12, learners=10)  # 12 more cohorts, 120 more attempts
    client = client_for(assessor if who == "assessor" else administrator)
    with django_assert_max_num_queries(QUEUE_QUERIES):
        large = client.get(URL)
    assert large.content.count(b"/mark/") == 50
    assert b"126 attempts waiting" in large.content
    with django_assert_max_num_queries(QUEUE_QUERIES):
        last = client.get(URL, {"page": 3})
    assert last.content.count(b"/mark/") == 26
    assert b"Page 3 of 3" in last.content
    with (
        time_machine.travel(timezone.now() + timedelta(days=2)),
        django_assert_max_num_queries(QUEUE_QUERIES + 1),
    ):
        waited = client.get(URL, {"waiting_days": 1, "page": 3})
    assert waited.content.count(b"/mark/") == 26
    assert b"Page 3 of 3" in waited.content


# Read afresh on every visit -------------------------------------------------------------


def test_a_new_submission_shows_on_the_next_visit(
    client_for: Any, assessor: Any, cohort: Any, waiting: dict[str, Any]
) -> None:
    client = client_for(assessor)
    assert b"1 attempt waiting in your cohorts." in client.get(URL).content
    newcomer = UserFactory(first_name="Nova", last_name="Comer")
    enrol_learner(newcomer, cohort)
    submit(newcomer, waiting["mine"]["task"], cohort)
    html = client.get(URL).content.decode()
    assert "2 attempts waiting in your cohorts." in html
    assert "Nova Comer" in html


def test_a_claim_shows_on_the_next_visit_to_a_colleague(
    client_for: Any, assessor: Any, cohort: Any, waiting: dict[str, Any]
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    assert b"Cole League" not in client_for(assessor).get(URL).content
    client_for(colleague).post(f"/assess/attempts/{waiting['old'].pk}/claim")
    assert b"Cole League" in client_for(assessor).get(URL).content


def test_a_marked_attempt_leaves_the_queue_on_the_next_visit(
    client_for: Any, assessor: Any, waiting: dict[str, Any]
) -> None:
    client = client_for(assessor)
    assert b"1 attempt waiting" in client.get(URL).content
    attempt = waiting["old"]
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[marking.ItemJudgement(i.key, "S", "") for i in attempt.task.items.all()],
        feedback="Well done.",
        declared=True,
        version=attempt.version,
    )
    html = client.get(URL).content.decode()
    assert "0 attempts waiting" in html
    assert f"/assess/attempts/{attempt.pk}/mark/" not in html


def test_assessors_of_other_cohorts_never_see_my_attempts(
    client_for: Any, assessor: Any, other_assessor: Any, waiting: dict[str, Any]
) -> None:
    assert f"/assess/attempts/{waiting['old'].pk}/mark/".encode() in (
        client_for(assessor).get(URL).content
    )
    theirs = client_for(other_assessor).get(URL).content
    assert f"/assess/attempts/{waiting['old'].pk}/mark/".encode() not in theirs
    assert f"/assess/attempts/{waiting['new'].pk}/mark/".encode() in theirs


def test_an_administrator_sees_every_cohort_and_each_change(
    client_for: Any, administrator: Any, cohort: Any, waiting: dict[str, Any]
) -> None:
    client = client_for(administrator)
    assert b"2 attempts waiting" in client.get(URL).content
    newcomer = UserFactory()
    enrol_learner(newcomer, cohort)
    submit(newcomer, waiting["mine"]["task"], cohort)
    assert b"3 attempts waiting" in client.get(URL).content


def test_the_counts_name_each_cohort_unit_and_task_with_its_waiting_attempts(
    client_for: Any,
    assessor: Any,
    administrator: Any,
    cohort: Any,
    waiting: dict[str, Any],
    other_learner: Any,
) -> None:
    """Counted per cohort and task, then named: every filter choice carries its number, only
    submitted attempts count, and the assessor's counts stay within their cohorts."""
    from assessment.marking.selectors import QueueFilters, queue_counts, queue_scope

    mine = waiting["mine"]
    second = assessable_unit(course=cohort.course)
    enrol_learner(other_learner, cohort)
    submit(other_learner, mine["task"], cohort)
    submit(other_learner, second["task"], cohort)
    drafting = UserFactory(roles=[Role.LEARNER])
    enrol_learner(drafting, cohort)
    services.start_attempt(drafting, second["task"], cohort)  # a draft: not counted

    counts = queue_counts(queue_scope(assessor))
    assert counts.total == 3
    assert counts.by_cohort == [(cohort.pk, cohort.name, 3)]
    assert sorted(counts.by_unit) == sorted(
        [(mine["unit"].pk, mine["unit"].code, 2), (second["unit"].pk, second["unit"].code, 1)]
    )
    assert sorted(counts.by_task) == sorted(
        [(mine["task"].pk, mine["task"].title, 2), (second["task"].pk, second["task"].title, 1)]
    )
    html = client_for(assessor).get(URL).content.decode()
    assert f"{mine['unit'].code} (2)</option>" in html
    assert f"{second['task'].title} (1)</option>" in html

    # The page's count, for filters by cohort, unit and task, comes from these groups.
    assert counts.matching(QueueFilters(cohort=cohort.pk)) == 3
    assert counts.matching(QueueFilters(unit=mine["unit"].pk)) == 2
    assert counts.matching(QueueFilters(unit=mine["unit"].pk, task=second["task"].pk)) == 0
    assert counts.matching(QueueFilters(cohort=cohort.pk, task=second["task"].pk)) == 1
    assert counts.matching(QueueFilters(cohort=cohort.pk + 1000)) == 0
    assert counts.matching(QueueFilters(waiting_days=1)) is None  # counted by the database

    everything = queue_counts(queue_scope(administrator))
    assert everything.total == 4
    assert len(everything.by_cohort) == 2


def test_an_assessor_of_no_cohort_sees_an_empty_queue(client_for: Any, waiting: Any) -> None:
    newcomer = UserFactory(roles=[Role.ASSESSOR])
    response = client_for(newcomer).get(URL)
    assert response.status_code == 200
    assert "0 attempts waiting in your cohorts." in response.content.decode()
    assert "/mark/" not in response.content.decode()
