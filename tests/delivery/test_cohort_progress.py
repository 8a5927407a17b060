"""The trainer's learners x modules grid, its CSV, and the pre-work check."""

from __future__ import annotations

import csv
import io
import re
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


def test_it_says_what_is_wrong_with_a_malformed_sort_and_shows_the_grid_by_name(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    response = client_for(trainer).get(grid_url(cohort), {"sort": "drop table", "module": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The grid sorts by learner, overall progress or one module" in html
    assert "Choose a module of this course from the list." in html
    assert html.index("Lena Nguyen") < html.index("Liam Obi")  # by name, the default


def test_it_says_so_when_asked_to_sort_by_a_module_of_another_course(
    client_for: Any, trainer: Any, cohort: Any, other_cohort: Any, prework: dict[str, Any]
) -> None:
    elsewhere = ModuleFactory(course=other_cohort.course)
    response = client_for(trainer).get(grid_url(cohort), {"sort": f"module:{elsewhere.pk}"})
    assert response.status_code == 400
    assert b"That module is not in this course any more" in response.content
    assert b"Lena Nguyen" in response.content


def test_it_sorts_by_one_module_least_done_first(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    sort = f"module:{prework['module'].pk}"
    html = client_for(trainer).get(grid_url(cohort), {"sort": sort}).content.decode()
    assert html.index("Liam Obi") < html.index("Lena Nguyen")
    assert 'aria-sort="ascending"><a href="?sort=' + sort in html


def test_it_finds_learners_by_name_or_email(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any], learner: Any
) -> None:
    client = client_for(trainer)
    html = client.get(grid_url(cohort), {"q": "nguyen"}).content.decode()
    assert "Lena Nguyen" in html
    assert "Liam Obi" not in html
    assert "1 learner match “nguyen”." in html
    by_email = client.get(grid_url(cohort), {"q": learner.email.upper()}).content.decode()
    assert "Lena Nguyen" in by_email
    assert "Liam Obi" not in by_email
    nobody = client.get(grid_url(cohort), {"q": "lena obi"}).content.decode()  # every word
    assert "No learner in this cohort matches “lena obi”." in nobody


def test_sorting_keeps_the_search(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    html = client_for(trainer).get(grid_url(cohort), {"q": "l n", "sort": "progress"}).content
    assert b'href="?q=l+n&amp;sort=name"' in html
    assert b'<input type="hidden" name="sort" value="progress">' in html


def test_a_search_too_long_is_refused_in_words(
    client_for: Any, trainer: Any, cohort: Any, prework: dict[str, Any]
) -> None:
    response = client_for(trainer).get(grid_url(cohort), {"q": "x" * 101})
    assert response.status_code == 400
    assert b"Ensure this value has at most 100 characters" in response.content
    assert b"Lena Nguyen" in response.content  # the search is left out, not the grid


@pytest.fixture
def big_cohort(cohort: Any) -> Any:
    """120 learners named Learner 000 .. Learner 119: three pages."""
    module = ModuleFactory(course=cohort.course)
    ResourceFactory(module=module)
    for i in range(120):
        EnrolmentFactory(
            cohort=cohort, learner=UserFactory(first_name="Learner", last_name=f"{i:03d}")
        )
    return cohort


def shown(response: Any) -> list[str]:
    return re.findall(r'<th scope="row">Learner (\d{3})', response.content.decode())


@pytest.mark.parametrize(
    ("page", "first", "status"),
    [
        ("1", "000", 200),
        ("2", "050", 200),
        ("3", "100", 200),
        ("0", "000", 200),  # before the first: the first
        ("-4", "000", 200),
        ("4", "100", 200),  # past the end: the last
        ("9" * 30, "100", 200),
        ("", "000", 200),
        ("two", "000", 400),  # not a number: said, and the first page shown
        ("1e3", "000", 400),
        ("9" * 5000, "000", 400),
    ],
)
def test_it_pages_learners_and_answers_any_page_number(
    client_for: Any, trainer: Any, big_cohort: Any, page: str, first: str, status: int
) -> None:
    response = client_for(trainer).get(grid_url(big_cohort), {"page": page})
    assert response.status_code == status
    assert shown(response)[0] == first
    if status == 400:
        assert b"A page is a whole number, such as 2." in response.content


def test_its_page_links_keep_the_search_and_sort(
    client_for: Any, trainer: Any, big_cohort: Any
) -> None:
    response = client_for(trainer).get(
        grid_url(big_cohort), {"q": "learner", "sort": "progress", "page": "2"}
    )
    html = response.content.decode()
    assert "Page 2 of 3" in html
    assert 'href="?q=learner&amp;sort=progress&amp;page=3" rel="next"' in html
    assert 'href="?q=learner&amp;sort=progress&amp;page=1" rel="prev"' in html
    one = client_for(trainer).get(grid_url(big_cohort), {"q": "Learner 07"})  # every word
    found = shown(one)
    assert {f"{i:03d}" for i in range(70, 80)} <= set(found)
    assert "050" not in found
    assert found == sorted(found)
    assert b'class="pagination"' not in one.content


def test_the_csv_has_every_learner_whatever_the_page_or_search(
    client_for: Any, trainer: Any, big_cohort: Any
) -> None:
    response = client_for(trainer).get(
        grid_url(big_cohort, "progress.csv"), {"q": "Learner 07", "page": "2"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 1 + 120


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
    # session, user, roles, cohort and staff check, modules, count, enrolments, progress,
    # trainer
    with django_assert_max_num_queries(9):
        response = client.get(grid_url(cohort), {"sort": "progress"})
    assert response.content.count(b'<th scope="row">') == 50  # a page
    assert "(learners 1\u201350 of 60)".encode() in response.content
    assert b"Page 1 of 2" in response.content
    with django_assert_max_num_queries(9):
        last = client.get(grid_url(cohort), {"sort": "progress", "page": 2})
    assert last.content.count(b'<th scope="row">') == 10
    # the least advanced learners come first, the most advanced on the last page
    assert b'<td class="num">92%</td>' in last.content
    # a search sorted by a module: the same queries
    with django_assert_max_num_queries(9):
        found = client.get(
            grid_url(cohort), {"q": "e", "sort": f"module:{modules[3].pk}", "page": "2"}
        )
    assert found.status_code == 200
    with django_assert_max_num_queries(9):
        csv_response = client.get(grid_url(cohort, "progress.csv"))
    assert csv_response.content.count(b"\n") == 61
