from __future__ import annotations

from typing import Any

from tests.factories import CriterionFactory


def url(cohort: Any, unit: Any) -> str:
    return f"/assess/cohorts/{cohort.pk}/units/{unit.pk}/mapping/"


def test_it_shows_every_criterion_covered(
    client_for: Any, trainer: Any, cohort: Any, written: dict[str, Any]
) -> None:
    html = client_for(trainer).get(url(cohort, written["unit"])).content.decode()
    assert "Every performance criterion is assessed" in html
    assert html.count("✓") == 2


def test_it_flags_an_uncovered_criterion(
    client_for: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    CriterionFactory(element=written["unit"].elements.get(), number="1.7")
    html = client_for(assessor).get(url(cohort, written["unit"])).content.decode()
    assert "1 criterion not assessed by any item: 1.7" in html
    assert "not covered" in html


def test_staff_of_another_cohort_do_not_find_it(
    client_for: Any, other_assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    assert client_for(other_assessor).get(url(cohort, written["unit"])).status_code == 404


def test_a_learner_may_not_see_it(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    assert client_for(learner).get(url(cohort, written["unit"])).status_code == 403


def test_an_administrator_authors_tasks_and_items_in_the_admin(
    client_for: Any, administrator: Any, written: dict[str, Any]
) -> None:
    client = client_for(administrator)
    html = client.get(f"/admin/assessment/task/{written['task'].pk}/change/").content.decode()
    assert "Items" in html
    assert client.get("/admin/assessment/attempt/").status_code == 200
    assert client.get("/admin/assessment/auditevent/").status_code == 200
    assert client.get("/admin/assessment/thirdpartyrequest/").status_code == 200


def test_it_names_items_by_task_and_number_not_by_key(
    client_for: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    html = client_for(assessor).get(url(cohort, written["unit"])).content.decode()
    task = written["task"]
    assert f"Task 1: {task.title}" in html
    assert ">Task 1, item 2</th>" in html
    assert "assessed by task 1, item 1" in html
    assert f"{task.key}/q1" not in html
    assert "assessed by q1" not in html
