"""The trainer's learners x modules grid, its CSV, and the pre-work check."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from delivery.services import enrol_learner, mark_resource_done
from tests.factories import EnrolmentFactory, ModuleFactory, ResourceFactory, UserFactory


@pytest.fixture
def prework(cohort: Any, learner: Any, other_learner: Any) -> dict[str, Any]:
    """The cohort's course has a pre-work module; Lena has done it, Liam (in this cohort too)
    has not."""
    enrol_learner(learner, cohort)
    enrol_learner(other_learner, cohort)
    module = ModuleFactory(course=cohort.course, title="Pre-work", key="pre-work")
    later = ModuleFactory(course=cohort.course, title="Practice", key="practice")
    resources = ResourceFactory.create_batch(2, module=module)
    ResourceFactory(module=later)
    for resource in resources:
        mark_resource_done(learner, resource)
    return {"module": module, "later": later}


def grid_url(cohort: Any, suffix: str = "progress/") -> str:
    return f"/learn/cohorts/{cohort.pk}/{suffix}"


def test_it_shows_learners_by_modules(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    html = client_for(trainer).get(grid_url(cohort)).content.decode()
    assert "Lena Nguyen" in html
    assert "Liam Obi" in html
    assert '<td class="num cell cell--done">2/2</td>' in html
    assert '<td class="num">67%</td>' in html


def test_it_lists_who_has_not_done_the_prework(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    response = client_for(trainer).get(grid_url(cohort), {"module": prework["module"].pk})
    html = response.content.decode()
    missing = html.split("<h3>Not yet (1)</h3>")[1].split("</div>")[0]
    assert "Liam Obi" in missing
    assert "Lena Nguyen" not in missing


def test_it_sorts_by_progress_least_first(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    html = client_for(trainer).get(grid_url(cohort), {"sort": "progress"}).content.decode()
    assert html.index("Liam Obi") < html.index("Lena Nguyen")


def test_it_ignores_a_malformed_sort(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    response = client_for(trainer).get(grid_url(cohort), {"sort": "drop table", "module": "x"})
    assert response.status_code == 200


def test_it_downloads_the_same_grid_as_csv(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    response = client_for(trainer).get(grid_url(cohort, "progress.csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["username", "first_name", "last_name", "email", "status", "percent"]
    assert rows[0][6:] == ["pre-work (Pre-work)", "practice (Practice)"]
    by_user = {row[0]: row for row in rows[1:]}
    assert by_user["lena"][5:] == ["67", "2/2", "0/1"]
    assert by_user["liam"][5:] == ["0", "0/2", "0/1"]


@pytest.mark.parametrize("persona", ["trainer", "assessor", "auditor", "administrator"])
def test_the_cohorts_staff_and_auditors_may_see_it(
    request: pytest.FixtureRequest, client_for: Any, persona: str, cohort: Any
) -> None:
    user = request.getfixturevalue(persona)
    assert client_for(user).get(grid_url(cohort)).status_code == 200


def test_a_learner_of_the_cohort_may_not(client_for: Any, learner: Any, cohort: Any) -> None:
    enrol_learner(learner, cohort)
    assert client_for(learner).get(grid_url(cohort)).status_code == 403
    assert client_for(learner).get(grid_url(cohort, "progress.csv")).status_code == 403


def test_the_other_assessor_does_not_find_it(
    client_for: Any, other_assessor: Any, cohort: Any
) -> None:
    assert client_for(other_assessor).get(grid_url(cohort)).status_code == 404
    assert client_for(other_assessor).get(grid_url(cohort, "progress.csv")).status_code == 404


def test_it_refuses_other_methods(client_for: Any, trainer: Any, cohort: Any) -> None:
    assert client_for(trainer).post(grid_url(cohort)).status_code == 405


def test_its_query_count_does_not_grow_with_learners_or_modules(
    client_for: Any, trainer: Any, cohort: Any, django_assert_max_num_queries: Any
) -> None:
    modules = [ModuleFactory(course=cohort.course, position=i) for i in range(12)]
    resources = [ResourceFactory(module=m) for m in modules]
    for i in range(60):
        enrolment = EnrolmentFactory(cohort=cohort, learner=UserFactory())
        for resource in resources[: i % 12]:
            mark_resource_done(enrolment.learner, resource)
    client = client_for(trainer)
    # session, user, roles, cohort, staff check, the catalogue (4), enrolments, progress, trainer
    with django_assert_max_num_queries(12):
        response = client.get(grid_url(cohort), {"sort": "progress"})
    assert response.content.count(b'<th scope="row">') == 50  # a page
    assert b"Learners 1\xe2\x80\x9350 of 60" in response.content
    with django_assert_max_num_queries(12):
        last = client.get(grid_url(cohort), {"sort": "progress", "page": 2})
    assert last.content.count(b'<th scope="row">') == 10
    # the least advanced learners come first, the most advanced on the last page
    assert b'<td class="num">92%</td>' in last.content
    with django_assert_max_num_queries(12):
        csv_response = client.get(grid_url(cohort, "progress.csv"))
    assert csv_response.content.count(b"\n") == 61
