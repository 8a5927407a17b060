from __future__ import annotations

from typing import Any

from tests.factories import CohortFactory, CourseFactory, EnrolmentFactory, UnitFactory

URL = "/assess/records/"


def test_it_finds_a_learner_by_name_email_or_unit_code(
    client_for: Any, auditor: Any, learner: Any, cohort: Any, enrolled: None
) -> None:
    client = client_for(auditor)
    unit_code = cohort.course.course_units.first().unit.code
    for query in ["Nguyen", learner.email, "lena nguyen", unit_code]:
        html = client.get(URL, {"q": query}).content.decode()
        assert learner.email in html, query
        assert "1 enrolment found." in html, query


def test_it_finds_nothing_for_a_stranger(client_for: Any, auditor: Any, enrolled: None) -> None:
    html = client_for(auditor).get(URL, {"q": "zzzz-nobody"}).content.decode()
    assert "0 enrolments found." in html


def test_it_explains_a_query_too_short(client_for: Any, auditor: Any) -> None:
    html = client_for(auditor).get(URL, {"q": "a"}).content.decode()
    assert "Ensure this value has at least 2 characters" in html


def test_it_pages_long_results(client_for: Any, auditor: Any) -> None:
    cohort = CohortFactory(name="Big cohort")
    EnrolmentFactory.create_batch(30, cohort=cohort)
    client = client_for(auditor)
    first = client.get(URL, {"q": "Big cohort"}).content.decode()
    assert "30 enrolments found." in first
    assert "Page 1 of 2" in first
    second = client.get(URL, {"q": "Big cohort", "page": 2}).content.decode()
    assert second.count('<th scope="row">') == 5


def test_it_refuses_other_methods(client_for: Any, auditor: Any) -> None:
    assert client_for(auditor).post(URL).status_code == 405


def test_it_refuses_an_assessor(client_for: Any, assessor: Any) -> None:
    assert client_for(assessor).get(URL, {"q": "anyone"}).status_code == 403


def test_its_query_count_does_not_grow_with_matches(
    client_for: Any, auditor: Any, django_assert_max_num_queries: Any
) -> None:
    unit = UnitFactory(code="HLTAID011")
    for _ in range(10):
        EnrolmentFactory.create_batch(10, cohort=CohortFactory(course=CourseFactory(units=[unit])))
    client = client_for(auditor)
    with django_assert_max_num_queries(7):
        response = client.get(URL, {"q": "HLTAID011"})
    assert b"100 enrolments found." in response.content
