"""The learner's dashboard and course page: playlists, progress, locking, continue."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from delivery.models import Enrolment
from delivery.services import mark_resource_done, record_resource_opened
from tests.factories import (
    CohortFactory,
    CourseFactory,
    EnrolmentFactory,
    ModuleFactory,
    ResourceFactory,
)


@pytest.fixture
def course_with_modules(cohort: Any, learner: Any) -> dict[str, Any]:
    """Two modules in the learner's cohort's course; the second requires the first."""
    EnrolmentFactory(learner=learner, cohort=cohort)
    first = ModuleFactory(course=cohort.course, title="Before the tutorial", position=1)
    second = ModuleFactory(
        course=cohort.course, title="After the tutorial", position=2, requires=[first]
    )
    return {
        "first": first,
        "second": second,
        "a": ResourceFactory(module=first, title="Hand hygiene", position=1),
        "b": ResourceFactory(module=first, title="Gloves", position=2),
        "c": ResourceFactory(module=second, title="Sharps", position=1),
    }


def test_it_shows_each_course_as_a_playlist_with_progress(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    mark_resource_done(learner, course_with_modules["a"])
    html = client_for(learner).get("/learn/").content.decode()
    assert "Before the tutorial" in html
    assert "33% done · 1 of 3 resources" in html
    assert "1 of 2" in html  # the first module
    assert "Continue: Gloves" in html


def test_it_says_what_is_locked_and_why(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    html = client_for(learner).get("/learn/").content.decode()
    assert "Opens when you finish Before the tutorial." in html


def test_it_unlocks_a_module_when_its_prerequisite_is_done(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    for key in ("a", "b"):
        mark_resource_done(learner, course_with_modules[key])
    html = client_for(learner).get("/learn/").content.decode()
    assert "Opens when you finish" not in html
    assert "Start" not in html
    assert "Continue: Sharps" in html


def test_it_continues_where_the_learner_left_off(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    record_resource_opened(learner, course_with_modules["b"])
    html = client_for(learner).get("/learn/").content.decode()
    assert "Continue: Gloves" in html


def test_the_course_page_lists_the_resources_of_the_module_in_hand(
    client_for: Any, learner: Any, cohort: Any, course_with_modules: dict[str, Any]
) -> None:
    html = client_for(learner).get(f"/learn/courses/{cohort.pk}/").content.decode()
    assert "Hand hygiene" in html
    assert "Gloves" in html
    # the locked module's resources are not offered
    assert "Sharps" not in html


def test_the_course_page_of_another_cohort_is_not_found(
    client_for: Any, learner: Any, other_cohort: Any, course_with_modules: dict[str, Any]
) -> None:
    assert client_for(learner).get(f"/learn/courses/{other_cohort.pk}/").status_code == 404


def test_a_withdrawn_learner_sees_the_course_read_only(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    Enrolment.objects.filter(learner=learner).update(status=Enrolment.Status.WITHDRAWN)
    html = client_for(learner).get("/learn/").content.decode()
    assert "shown read-only" in html
    assert "Continue:" not in html


def test_the_dashboard_query_count_does_not_grow_with_courses_or_resources(
    client_for: Any, learner: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        cohort = CohortFactory(course=CourseFactory(units=2))
        EnrolmentFactory(learner=learner, cohort=cohort)
        for m in range(4):
            module = ModuleFactory(course=cohort.course, position=m)
            resources = ResourceFactory.create_batch(10, module=module)
            mark_resource_done(learner, resources[0])
    client = client_for(learner)
    # user, roles, enrolments, the courses (units; modules with the learner's counts;
    # prerequisites), the resources of the modules in hand, announcements, live sessions
    with django_assert_max_num_queries(9):
        response = client.get("/learn/")
    assert response.content.count(b'class="card playlist"') == 5


def test_it_says_how_long_is_left_in_the_cohort(
    client_for: Any, learner: Any, cohort: Any, course_with_modules: dict[str, Any]
) -> None:
    import time_machine

    with time_machine.travel("2027-02-12 09:00 +1100", tick=False):
        html = client_for(learner).get("/learn/").content.decode()
    assert "(1\xa0week, 6\xa0days left)" in html


def headings(html: str) -> list[tuple[int, str]]:
    return [
        (int(level), re.sub(r"<[^>]+>|\s+", " ", text).strip())
        for level, text in re.findall(r"<h([1-6])[^>]*>(.*?)</h\1>", html, flags=re.DOTALL)
    ]


def test_the_course_page_is_headed_by_the_course_and_its_units_follow(
    client_for: Any, learner: Any, cohort: Any, course_with_modules: dict[str, Any]
) -> None:
    """axe: page-has-heading-one (the course page had no h1) and heading-order."""
    html = client_for(learner).get(f"/learn/courses/{cohort.pk}/").content.decode()
    found = headings(html)
    assert [text for level, text in found if level == 1] == [cohort.course.title]
    levels = [level for level, _ in found]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), found
    dashboard = headings(client_for(learner).get("/learn/").content.decode())
    assert [text for level, text in dashboard if level == 1] == ["My learning"]
    assert (2, cohort.course.title) in dashboard


def test_messages_are_a_list_inside_a_live_region(
    client_for: Any, trainer: Any, cohort: Any
) -> None:
    """axe: listitem. role=status on the <ul> itself took away its list role."""
    response = client_for(trainer).post(
        f"/learn/cohorts/{cohort.pk}/announcements/new",
        {"title": "Bring gloves", "body": "Tuesday."},
        follow=True,
    )
    html = response.content.decode()
    assert "Announcement posted" in html
    assert '<div role="status"><ul class="messages">' in html
    assert '<ul class="messages" role=' not in html


def test_it_continues_at_the_resource_opened_last_across_modules(
    client_for: Any, learner: Any, course_with_modules: dict[str, Any]
) -> None:
    """The most recently opened unfinished resource wins over one opened earlier in an
    earlier module, once the module it is in is open."""
    for key in ("a", "b"):
        mark_resource_done(learner, course_with_modules[key])
    extra = ResourceFactory(module=course_with_modules["second"], title="Spills", position=2)
    record_resource_opened(learner, extra)
    client = client_for(learner)
    assert "Continue: Spills" in client.get("/learn/").content.decode()
    record_resource_opened(learner, course_with_modules["c"])  # opened later
    assert "Continue: Sharps" in client.get("/learn/").content.decode()
