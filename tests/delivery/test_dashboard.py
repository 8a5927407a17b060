from __future__ import annotations

from typing import Any

from delivery.models import Enrolment
from tests.factories import CohortFactory, CourseFactory, EnrolmentFactory

URL = "/learn/"


def test_it_lists_the_learners_courses_and_units(
    client_for: Any, learner: Any, cohort: Any, enrolled: None
) -> None:
    html = client_for(learner).get(URL).content.decode()
    assert cohort.course.title in html
    for course_unit in cohort.course.course_units.all():
        assert course_unit.unit.code in html


def test_it_hides_other_learners_courses(
    client_for: Any, learner: Any, other_cohort: Any, enrolled: None
) -> None:
    html = client_for(learner).get(URL).content.decode()
    assert other_cohort.course.title not in html


def test_it_shows_a_withdrawn_enrolment_as_withdrawn(
    client_for: Any, learner: Any, cohort: Any, enrolled: None
) -> None:
    Enrolment.objects.filter(learner=learner).update(status=Enrolment.Status.WITHDRAWN)
    assert b"Withdrawn" in client_for(learner).get(URL).content


def test_it_explains_an_empty_dashboard(client_for: Any, learner: Any) -> None:
    assert b"You are not enrolled in a course yet" in client_for(learner).get(URL).content


def test_it_refuses_other_methods(client_for: Any, learner: Any) -> None:
    assert client_for(learner).post(URL).status_code == 405


def test_it_refuses_staff_without_the_learner_role(client_for: Any, trainer: Any) -> None:
    assert client_for(trainer).get(URL).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client_for: Any, db: None) -> None:
    assert client_for(None).get(URL)["Location"] == f"/accounts/login/?next={URL}"


def test_its_query_count_does_not_grow_with_courses(
    client_for: Any, learner: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        EnrolmentFactory(learner=learner, cohort=CohortFactory(course=CourseFactory(units=5)))
    client = client_for(learner)
    # user, roles, enrolments, the courses (units; modules with the learner's counts;
    # prerequisites), the resources of the modules in hand, announcements, live sessions
    with django_assert_max_num_queries(9):
        response = client.get(URL)
    assert response.content.count(b'class="card playlist"') == 30
