from __future__ import annotations

from typing import Any

from tests.factories import CohortFactory, EnrolmentFactory

URL = "/live/"


def test_it_lists_the_cohorts_the_trainer_teaches(
    client_for: Any, trainer: Any, cohort: Any, other_cohort: Any, enrolled: None
) -> None:
    html = client_for(trainer).get(URL).content.decode()
    assert cohort.name in html
    assert other_cohort.name not in html


def test_it_counts_only_active_learners(client_for: Any, trainer: Any, cohort: Any) -> None:
    EnrolmentFactory.create_batch(3, cohort=cohort)
    EnrolmentFactory(cohort=cohort, status="withdrawn")
    html = client_for(trainer).get(URL).content.decode()
    assert '<td class="num">3</td>' in html


def test_it_refuses_other_methods(client_for: Any, trainer: Any) -> None:
    assert client_for(trainer).post(URL).status_code == 405


def test_it_refuses_a_learner(client_for: Any, learner: Any) -> None:
    assert client_for(learner).get(URL).status_code == 403


def test_its_query_count_does_not_grow_with_cohorts(
    client_for: Any, trainer: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(40):
        EnrolmentFactory.create_batch(2, cohort=CohortFactory(trainers=[trainer]))
    client = client_for(trainer)
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.content.count(b'<th scope="row">') == 40
