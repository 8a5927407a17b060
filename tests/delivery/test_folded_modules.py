"""The dashboard and course page show the module in hand open and fold the rest: a folded
module shows its progress, and opening it fetches its resources (htmx) or, without JavaScript,
follows a link to the course page with it open."""

from __future__ import annotations

import re
from typing import Any

import pytest

from delivery.services import mark_resource_done
from tests.factories import (
    CohortFactory,
    CourseFactory,
    EnrolmentFactory,
    ModuleFactory,
    ResourceFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def modules(cohort: Any, learner: Any) -> dict[str, Any]:
    """Three modules: the learner has finished the first and is in the second; the third
    requires the second."""
    EnrolmentFactory(learner=learner, cohort=cohort)
    first = ModuleFactory(course=cohort.course, title="Basics", position=1)
    second = ModuleFactory(course=cohort.course, title="Gloves and gowns", position=2)
    third = ModuleFactory(course=cohort.course, title="Sharps", position=3, requires=[second])
    done = ResourceFactory(module=first, title="Why hygiene matters", position=1)
    mark_resource_done(learner, done)
    return {
        "first": first,
        "second": second,
        "third": third,
        "done": done,
        "gloves": ResourceFactory(module=second, title="Putting on gloves", position=1),
        "gowns": ResourceFactory(module=second, title="Gowns", position=2),
        "sharps": ResourceFactory(module=third, title="Sharps bins", position=1),
    }


def course_url(cohort: Any) -> str:
    return f"/learn/courses/{cohort.pk}/"


def fold(html: str, module: Any) -> str:
    """The <details> of one module."""
    match = re.search(
        rf'<li [^>]*id="module-{module.pk}">(.*?)</li>\s*(?:<li class="module|</ol>)',
        html,
        re.DOTALL,
    )
    assert match, f"module {module.pk} not on the page"
    return match.group(1)


def test_the_course_page_opens_the_module_in_hand_and_folds_the_rest(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    html = client_for(learner).get(course_url(cohort)).content.decode()
    current = fold(html, modules["second"])
    assert '<details class="module__fold" open>' in current
    assert "Putting on gloves" in current
    folded = fold(html, modules["first"])
    assert '<details class="module__fold" hx-get=' in folded
    assert "1 of 1" in folded  # its progress shows while folded
    assert "Why hygiene matters" not in html  # its resources are not rendered
    url = f"{course_url(cohort)}?module={modules['first'].pk}"
    assert f'hx-get="{url}" hx-trigger="toggle once"' in folded
    assert f'href="{url}#module-{modules["first"].pk}"' in folded  # without JavaScript


def test_a_locked_module_is_not_folded_and_says_why(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    html = client_for(learner).get(course_url(cohort)).content.decode()
    locked = html.split(f'id="module-{modules["third"].pk}">')[1].split("</li>")[0]
    assert "<details" not in locked  # nothing to open
    assert "0 of 1" in locked
    assert "Opens when you finish Gloves and gowns." in locked
    assert "Sharps bins" not in html


def test_a_link_opens_a_folded_module_without_javascript(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    response = client_for(learner).get(course_url(cohort), {"module": modules["first"].pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<!doctype html>" in html
    opened = fold(html, modules["first"])
    assert '<details class="module__fold" open>' in opened
    assert "Why hygiene matters" in opened
    assert "Putting on gloves" in fold(html, modules["second"])  # the one in hand stays open


def test_htmx_gets_only_the_opened_modules_resources(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    response = client_for(learner).get(course_url(cohort), {"module": modules["first"].pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Why hygiene matters" in html
    assert f'href="/learn/resources/{modules["done"].pk}/"' in html
    assert "Putting on gloves" not in html


def test_htmx_opening_a_locked_module_gets_the_reason(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    response = client_for(learner).get(course_url(cohort), {"module": modules["third"].pk}, **HTMX)
    html = response.content.decode()
    assert "Opens when you finish Gloves and gowns." in html
    assert "Sharps bins" not in html


@pytest.mark.parametrize("value", ["other", "abc", "0", "99999999999999999999", "²"])
def test_a_module_not_in_the_course_is_said_in_words(
    client_for: Any,
    learner: Any,
    cohort: Any,
    other_cohort: Any,
    modules: dict[str, Any],
    value: str,
) -> None:
    if value == "other":
        value = str(ModuleFactory(course=other_cohort.course).pk)
    client = client_for(learner)
    response = client.get(course_url(cohort), {"module": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That is not a module of this course." in html
    assert "Putting on gloves" in html  # the course, with the module in hand open
    partial = client.get(course_url(cohort), {"module": value}, **HTMX)
    assert partial.status_code == 404
    assert partial.content == b"That is not a module of this course."


def test_another_learners_course_is_not_found_even_for_htmx(
    client_for: Any, other_learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    response = client_for(other_learner).get(
        course_url(cohort), {"module": modules["first"].pk}, **HTMX
    )
    assert response.status_code == 404


def test_the_dashboard_opens_the_module_in_hand_and_folds_its_neighbours(
    client_for: Any, learner: Any, cohort: Any, modules: dict[str, Any]
) -> None:
    html = client_for(learner).get("/learn/").content.decode()
    assert '<details class="module__fold" open>' in fold(html, modules["second"])
    folded = fold(html, modules["first"])
    assert "1 of 1" in folded
    assert "Why hygiene matters" not in html
    # opening it fetches from the course page, which also answers without JavaScript
    assert f'hx-get="{course_url(cohort)}?module={modules["first"].pk}"' in folded


def big_course(learner: Any, *, modules: int = 20, per_module: int = 10) -> Any:
    cohort = CohortFactory(course=CourseFactory(units=2))
    EnrolmentFactory(learner=learner, cohort=cohort)
    for m in range(modules):
        module = ModuleFactory(course=cohort.course, position=m)
        resources = ResourceFactory.create_batch(per_module, module=module)
        if m < 3:
            for resource in resources:
                mark_resource_done(learner, resource)
    return cohort


def test_the_course_page_renders_one_module_of_many_and_its_queries_do_not_grow(
    client_for: Any, learner: Any, django_assert_max_num_queries: Any
) -> None:
    small = big_course(learner, modules=4, per_module=2)
    cohort = big_course(learner)
    client = client_for(learner)
    # user, roles, enrolment, the course (units; modules with the learner's counts;
    # prerequisites), the resources of the open modules; one to spare
    with django_assert_max_num_queries(8):
        client.get(course_url(small))
    with django_assert_max_num_queries(8):
        response = client.get(course_url(cohort))
    html = response.content.decode()
    assert html.count('<details class="module__fold"') == 20
    assert html.count('<li class="resource ') == 10  # the module in hand only
    first = cohort.course.modules.order_by("position").first()
    with django_assert_max_num_queries(8):
        partial = client.get(course_url(cohort), {"module": first.pk}, **HTMX)
    assert partial.content.decode().count('<li class="resource ') == 10


def test_the_dashboard_renders_the_module_in_hand_of_each_course(
    client_for: Any, learner: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        big_course(learner)
    client = client_for(learner)
    # user, roles, enrolments, the courses (units; modules with the learner's counts;
    # prerequisites), the resources of the modules in hand, announcements, live sessions
    with django_assert_max_num_queries(9):
        response = client.get("/learn/")
    html = response.content.decode()
    assert html.count('class="card playlist"') == 5
    assert html.count('<li class="resource ') == 5 * 10
    assert html.count('<details class="module__fold" open>') == 5
