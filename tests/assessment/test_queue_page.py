from __future__ import annotations

from typing import Any

from tests.factories import CohortFactory

URL = "/assess/queue/"


def test_it_lists_only_the_cohorts_assigned_to_the_assessor(
    client_for: Any, assessor: Any, cohort: Any, other_cohort: Any
) -> None:
    html = client_for(assessor).get(URL).content.decode()
    assert cohort.name in html
    assert other_cohort.name not in html


def test_it_refuses_other_methods(client_for: Any, assessor: Any) -> None:
    assert client_for(assessor).post(URL).status_code == 405


def test_it_refuses_a_trainer_and_a_learner(client_for: Any, trainer: Any, learner: Any) -> None:
    assert client_for(trainer).get(URL).status_code == 403
    assert client_for(learner).get(URL).status_code == 403


def test_its_query_count_does_not_grow_with_cohorts(
    client_for: Any, assessor: Any, django_assert_max_num_queries: Any
) -> None:
    CohortFactory.create_batch(40, assessors=[assessor])
    client = client_for(assessor)
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.content.count(b'<th scope="row">') == 40
