"""The public catalogue: the list with its search and filters, a course's page, who sees
unpublished courses, places left, what a course stacks into, and fixed query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from credentials.models import Achievement
from delivery.models import Course, Enrolment
from delivery.roles import Role
from tests.factories import (
    CohortFactory,
    CourseFactory,
    EnrolmentFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("catalogue:index")


def page(code: str) -> str:
    return reverse("catalogue:course", args=[code])


def _skill_set() -> dict[str, Any]:
    """HLTSS00065 of two units, each also offered on its own; a first aid unit elsewhere."""
    inf6 = UnitFactory(code="HLTINF006", title="Apply basic principles of infection control")
    inf7 = UnitFactory(code="HLTINF007", title="Implement infection control procedures")
    aid = UnitFactory(code="HLTAID011", title="Provide First Aid")
    skill_set = CourseFactory(
        code="HLTSS00065",
        title="Infection Control Skill Set",
        kind=Course.Kind.SKILL_SET,
        units=[inf6, inf7],
        published=True,
        area="Health and safety",
        effort_hours=20,
        live_tutorials=True,
        description="For workers in health and community services.",
        outcomes="Use standard precautions\nRespond to a spill",
    )
    alone6 = CourseFactory(
        code="HLTINF006",
        title="Basic infection control",
        kind=Course.Kind.UNIT,
        units=[inf6],
        published=True,
        area="Health and safety",
        effort_hours=8,
    )
    alone7 = CourseFactory(
        code="HLTINF007",
        title="Infection control procedures",
        kind=Course.Kind.UNIT,
        units=[inf7],
        published=False,
        area="Health and safety",
        effort_hours=10,
    )
    first_aid = CourseFactory(
        code="HLTAID011",
        title="Provide First Aid",
        kind=Course.Kind.UNIT,
        units=[aid],
        published=True,
        area="First aid",
        effort_hours=50,
        workplace_observation=True,
        validity_months=36,
    )
    return {
        "skill_set": skill_set,
        "alone6": alone6,
        "alone7": alone7,
        "first_aid": first_aid,
        "units": (inf6, inf7, aid),
    }


def codes(response: Any) -> list[str]:
    return [offer.course.code for offer in response.context["offers"]]


def test_it_lists_published_courses_to_anonymous_visitors(client: Any) -> None:
    _skill_set()
    response = client.get(INDEX)
    assert response.status_code == 200
    assert sorted(codes(response)) == ["HLTAID011", "HLTINF006", "HLTSS00065"]
    html = response.content.decode()
    assert "Infection Control Skill Set" in html
    assert "Self-paced study online and live tutorials with a trainer" in html
    assert "Skill set" in html
    assert "First aid" in html


def test_it_hides_unpublished_courses_from_the_public(client: Any, client_for: Any) -> None:
    _skill_set()
    assert "HLTINF007" not in codes(client.get(INDEX))
    assert client.get(page("HLTINF007")).status_code == 404
    learner = UserFactory(roles=[Role.LEARNER])
    assert client_for(learner).get(page("HLTINF007")).status_code == 404


def test_an_administrator_previews_an_unpublished_course(
    client_for: Any, administrator: Any
) -> None:
    _skill_set()
    response = client_for(administrator).get(page("HLTINF007"))
    assert response.status_code == 200
    assert b"Unpublished" in response.content
    # The list stays what the public sees.
    assert "HLTINF007" not in codes(client_for(administrator).get(INDEX))


def test_an_unknown_code_is_404(client: Any) -> None:
    assert client.get(page("NOPE999")).status_code == 404


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("HLTSS", ["HLTSS00065"]),
        ("first aid", ["HLTAID011"]),
        ("community services", ["HLTSS00065"]),  # the description
        ("HLTINF007", ["HLTSS00065"]),  # a unit inside (its own course is unpublished)
        ("procedures", ["HLTSS00065"]),  # a unit's title
        ("infection", ["HLTINF006", "HLTSS00065"]),
        ("nothing-like-this", []),
    ],
)
def test_it_searches_codes_titles_descriptions_and_units(
    client: Any, q: str, expected: list[str]
) -> None:
    _skill_set()
    assert sorted(codes(client.get(INDEX, {"q": q}))) == expected


def test_it_filters_by_area(client: Any) -> None:
    _skill_set()
    response = client.get(INDEX, {"area": "First aid"})
    assert codes(response) == ["HLTAID011"]
    assert "Health and safety" in response.context["areas"]


@pytest.mark.parametrize(
    ("length", "expected"),
    [("day", ["HLTINF006"]), ("week", ["HLTSS00065"]), ("longer", ["HLTAID011"])],
)
def test_it_filters_by_length(client: Any, length: str, expected: list[str]) -> None:
    _skill_set()
    assert codes(client.get(INDEX, {"length": length})) == expected


def test_it_filters_by_delivery_modes(client: Any) -> None:
    _skill_set()
    assert codes(client.get(INDEX, {"delivery": "live_tutorials"})) == ["HLTSS00065"]
    assert codes(client.get(INDEX, {"delivery": "workplace_observation"})) == ["HLTAID011"]
    both = client.get(INDEX, {"delivery": ["live_tutorials", "workplace_observation"]})
    assert codes(both) == []


def test_it_filters_courses_starting_soon(client: Any) -> None:
    made = _skill_set()
    today = timezone.localdate()
    CohortFactory(course=made["skill_set"], listed=True, starts_on=today + dt.timedelta(days=40))
    CohortFactory(course=made["first_aid"], listed=True, starts_on=today + dt.timedelta(days=10))
    CohortFactory(course=made["alone6"], listed=True, rolling=True, starts_on=today, ends_on=None)
    # Unlisted, or already started: not offered.
    CohortFactory(course=made["skill_set"], listed=False, starts_on=today + dt.timedelta(days=3))
    CohortFactory(course=made["skill_set"], listed=True, starts_on=today - dt.timedelta(days=3))
    assert sorted(codes(client.get(INDEX, {"soon": "1"}))) == ["HLTAID011", "HLTINF006"]


def test_bad_filters_are_ignored_not_an_error(client: Any) -> None:
    _skill_set()
    response = client.get(INDEX, {"length": "forever", "delivery": "teleport", "page": "x"})
    assert response.status_code == 200
    assert len(codes(response)) == 3


def test_a_search_too_long_is_named_and_the_other_filters_still_apply(client: Any) -> None:
    _skill_set()
    response = client.get(INDEX, {"q": "x" * 101, "area": "First aid"})
    assert response.status_code == 200
    assert "at most 100 characters" in response.content.decode()
    assert codes(response) == ["HLTAID011"]


def test_htmx_gets_only_the_results(client: Any) -> None:
    _skill_set()
    response = client.get(INDEX, {"q": "first"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Provide First Aid" in html
    assert "<form" not in html
    assert "<html" not in html


def test_it_paginates_keeping_the_filters(client: Any) -> None:
    for n in range(25):
        CourseFactory(code=f"PAGE{n:03d}", title=f"Paged {n:02d}", published=True, area="Paging")
    first = client.get(INDEX, {"area": "Paging"})
    assert codes(first) == [f"PAGE{n:03d}" for n in range(12)]
    assert "area=Paging&amp;page=2" in first.content.decode()
    third = client.get(INDEX, {"area": "Paging", "page": "3"})
    assert codes(third) == ["PAGE024"]
    assert 'href="/catalogue/PAGE024/"' in third.content.decode()


def test_places_left_count_active_enrolments_only(client: Any) -> None:
    made = _skill_set()
    start = timezone.localdate() + dt.timedelta(days=21)
    intake = CohortFactory(course=made["skill_set"], listed=True, places=12, starts_on=start)
    for status in [Enrolment.Status.ACTIVE] * 3 + [Enrolment.Status.WITHDRAWN]:
        EnrolmentFactory(cohort=intake, status=status)
    response = client.get(page("HLTSS00065"))
    (shown,) = response.context["offer"].intakes
    assert shown.places_left == 9
    assert "9 places left of 12" in response.content.decode()
    assert "9 places left" in client.get(INDEX).content.decode()


def test_a_full_intake_says_so(client: Any) -> None:
    made = _skill_set()
    start = timezone.localdate() + dt.timedelta(days=5)
    intake = CohortFactory(course=made["first_aid"], listed=True, places=1, starts_on=start)
    EnrolmentFactory(cohort=intake)
    response = client.get(page("HLTAID011"))
    assert response.context["offer"].intakes[0].full
    assert "Full" in response.content.decode()


def test_a_single_unit_stacks_into_its_skill_set(client: Any) -> None:
    _skill_set()
    response = client.get(page("HLTINF006"))
    assert [s.code for s in response.context["offer"].stacks_into] == ["HLTSS00065"]
    assert "Stacks into" in response.content.decode()
    listed = {o.course.code: o for o in client.get(INDEX).context["offers"]}
    assert [s.code for s in listed["HLTINF006"].stacks_into] == ["HLTSS00065"]
    assert listed["HLTAID011"].stacks_into == []


def test_an_unpublished_skill_set_is_not_offered_as_a_stack(client: Any) -> None:
    made = _skill_set()
    Course.objects.filter(pk=made["skill_set"].pk).update(published=False)
    assert client.get(page("HLTINF006")).context["offer"].stacks_into == []


def test_the_course_page_shows_units_outcomes_and_the_credential(client: Any) -> None:
    made = _skill_set()
    achievement = Achievement.objects.create(
        course=made["skill_set"], name="Infection Control Skill Set", human_code="HLTSS00065"
    )
    response = client.get(page("HLTSS00065"))
    html = response.content.decode()
    assert "What you will be able to do" in html
    assert "<li>Respond to a spill</li>" in html
    # HLTINF006 is offered on its own; HLTINF007's own course is not published.
    assert html.count("also offered on its own") == 1
    assert reverse("catalogue:course", args=["HLTINF006"]) in html
    assert reverse("credentials:achievement_image", args=[achievement.public_id]) in html
    assert reverse("credentials:achievement", args=[achievement.public_id]) in html
    assert "does not expire" in html


def test_a_single_unit_course_earns_the_units_credential_with_its_validity(
    client: Any,
) -> None:
    made = _skill_set()
    aid = made["units"][2]
    achievement = Achievement.objects.create(unit=aid, name=aid.title, human_code=aid.code)
    response = client.get(page("HLTAID011"))
    assert response.context["offer"].achievement == achievement
    assert "valid 3 years" in response.content.decode()


def test_prerequisites_are_named_in_words(client: Any) -> None:
    made = _skill_set()
    made["skill_set"].prerequisites.add(made["first_aid"])
    html = client.get(page("HLTSS00065")).content.decode()
    assert "You need a current credential for" in html
    assert "Provide First Aid" in html


def test_the_other_catalogue_pages_are_not_read_as_course_codes() -> None:
    from django.urls import Resolver404, resolve

    assert resolve("/catalogue/HLTSS00065/").url_name == "course"
    for path in ("/catalogue/playlist/", "/catalogue/pathways/"):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        assert match.url_name != "course"


def test_only_get_is_allowed(client: Any) -> None:
    _skill_set()
    assert client.post(INDEX).status_code == 405
    assert client.post(page("HLTSS00065")).status_code == 405


def test_the_site_nav_links_the_catalogue_for_everyone(client: Any, client_for: Any) -> None:
    html = client.get(reverse("login")).content.decode()
    assert f'href="{INDEX}"' in html
    learner = UserFactory(roles=[Role.LEARNER])
    assert f'href="{INDEX}"' in client_for(learner).get(INDEX).content.decode()


# --- query counts -------------------------------------------------------------------------


def _many(n: int) -> None:
    today = timezone.localdate()
    start = Course.objects.filter(code__startswith="MANY").count()
    for i in range(start, start + n):
        units = [UnitFactory() for _ in range(3)]
        whole = CourseFactory(
            code=f"MANY{i:04d}",
            title=f"Many {i:04d}",
            units=units,
            published=True,
            area=f"Area {i % 4}",
        )
        Achievement.objects.create(course=whole, name=whole.title, human_code=whole.code)
        for unit in units:
            alone = CourseFactory(
                code=f"{unit.code}X", kind=Course.Kind.UNIT, units=[unit], published=True
            )
            CohortFactory(course=alone, listed=True, rolling=True, starts_on=today, ends_on=None)
        for k in range(3):
            intake = CohortFactory(
                course=whole, listed=True, places=10, starts_on=today + dt.timedelta(days=k + 1)
            )
            EnrolmentFactory(cohort=intake)
        whole.prerequisites.add(alone)


def _count(client: Any, url: str, data: dict[str, Any], django_assert_max_num_queries: Any) -> int:
    client.get(url, data)
    with django_assert_max_num_queries(50) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured)


def test_the_list_keeps_a_fixed_query_count(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    _many(1)
    few = _count(client, INDEX, {"q": "many", "soon": "1"}, django_assert_max_num_queries)
    _many(15)  # a full page of courses, each with units, stacks, intakes and enrolments
    many = _count(client, INDEX, {"q": "many", "soon": "1"}, django_assert_max_num_queries)
    assert many == few
    assert many <= 6, many
    assert _count(client, INDEX, {}, django_assert_max_num_queries) <= 7


def test_the_course_page_keeps_a_fixed_query_count(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    _many(1)
    few = _count(client, page("MANY0000"), {}, django_assert_max_num_queries)
    course = Course.objects.get(code="MANY0000")
    today = timezone.localdate()
    for k in range(20):
        intake = CohortFactory(
            course=course, listed=True, places=30, starts_on=today + dt.timedelta(days=k + 5)
        )
        EnrolmentFactory(cohort=intake)
    for unit in [UnitFactory() for _ in range(10)]:
        course.course_units.create(unit=unit, position=10)
        CourseFactory(code=f"{unit.code}Z", kind=Course.Kind.UNIT, units=[unit], published=True)
        course.prerequisites.add(CourseFactory(units=[unit], published=True))
    many = _count(client, page("MANY0000"), {}, django_assert_max_num_queries)
    assert many == few
    # 7 for the page itself, and 3 for what the merge put on it: the intakes' enrol boxes
    # (intake_states) and the pathways the course is a step of.
    assert many <= 10, many
