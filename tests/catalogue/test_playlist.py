"""My playlist: saved courses in the learner's order with their state in words, goals with
progress and the map, and what to do next, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Goal, PlaylistItem
from catalogue.playlist import services
from catalogue.playlist.selectors import playlist_page
from delivery.models import Course, Unit
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.catalogue.pathway_world import (
    achievement,
    give,
    intake,
    milestone,
    pathway,
    skill_set,
    unit_course,
)
from tests.factories import CohortFactory, UserFactory


def course_of(unit: Unit) -> Course:
    return unit.courses.get(kind=Course.Kind.UNIT)


@pytest.fixture
def units(db: None) -> dict[str, Unit]:
    return {code: unit_course(code) for code in ("HLTINF006", "HLTINF007", "HLTAID011")}


def order(learner: Any) -> list[str]:
    return [
        item.course.code
        for item in PlaylistItem.objects.filter(learner=learner).order_by("position", "id")
    ]


# --- saving, moving, removing -------------------------------------------------------------


def test_saving_a_course_twice_keeps_one(client: Any, learner: Any, units: Any) -> None:
    client.force_login(learner)
    course = course_of(units["HLTINF006"])
    url = reverse("catalogue:playlist_save", args=[course.pk])
    first = client.post(url, follow=True)
    second = client.post(url, follow=True)
    assert "is saved in your playlist" in first.content.decode()
    assert "is in your playlist already" in second.content.decode()
    assert order(learner) == ["HLTINF006"]


def test_saving_returns_to_the_page_it_came_from_on_this_site_only(
    client: Any, learner: Any, units: Any
) -> None:
    client.force_login(learner)
    course = course_of(units["HLTINF006"])
    url = reverse("catalogue:playlist_save", args=[course.pk])
    assert client.post(url, {"next": "/catalogue/HLTINF006/"})["Location"] == (
        "/catalogue/HLTINF006/"
    )
    assert client.post(url, {"next": "https://evil.example/"})["Location"] == reverse(
        "catalogue:playlist"
    )


def test_an_unpublished_course_cannot_be_saved(client: Any, learner: Any, db: None) -> None:
    hidden = unit_course("BSBXXX001", published=False).courses.get()
    client.force_login(learner)
    response = client.post(reverse("catalogue:playlist_save", args=[hidden.pk]))
    assert response.status_code == 404
    assert not PlaylistItem.objects.exists()


def test_moving_up_and_down_without_javascript(client: Any, learner: Any, units: Any) -> None:
    for unit in units.values():
        services.save_course(learner, course_of(unit))
    client.force_login(learner)
    last = PlaylistItem.objects.get(learner=learner, course__code="HLTAID011")

    client.post(reverse("catalogue:playlist_move", args=[last.pk]), {"direction": "up"})
    assert order(learner) == ["HLTINF006", "HLTAID011", "HLTINF007"]
    client.post(reverse("catalogue:playlist_move", args=[last.pk]), {"direction": "up"})
    client.post(reverse("catalogue:playlist_move", args=[last.pk]), {"direction": "up"})
    assert order(learner) == ["HLTAID011", "HLTINF006", "HLTINF007"]
    client.post(reverse("catalogue:playlist_move", args=[last.pk]), {"direction": "down"})
    assert order(learner) == ["HLTINF006", "HLTAID011", "HLTINF007"]


def test_someone_elses_item_is_not_found(
    client: Any, learner: Any, other_learner: Any, units: Any
) -> None:
    for unit in units.values():
        services.save_course(other_learner, course_of(unit))
    theirs = PlaylistItem.objects.get(learner=other_learner, course__code="HLTAID011")
    before = order(other_learner)
    client.force_login(learner)

    move = client.post(reverse("catalogue:playlist_move", args=[theirs.pk]), {"direction": "up"})
    remove = client.post(reverse("catalogue:playlist_remove", args=[theirs.pk]))

    assert move.status_code == 404
    assert remove.status_code == 404
    assert order(other_learner) == before


def test_removing_takes_it_off(client: Any, learner: Any, units: Any) -> None:
    item, _ = services.save_course(learner, course_of(units["HLTINF006"]))
    client.force_login(learner)
    response = client.post(reverse("catalogue:playlist_remove", args=[item.pk]), follow=True)
    assert "is off your playlist" in response.content.decode()
    assert order(learner) == []


@pytest.mark.parametrize("role", [Role.TRAINER, Role.ASSESSOR, Role.AUDITOR, Role.ADMINISTRATOR])
def test_staff_have_no_playlist(client: Any, role: Role, units: Any) -> None:
    client.force_login(UserFactory(roles=[role]))
    assert client.get(reverse("catalogue:playlist")).status_code == 403
    course = course_of(units["HLTINF006"])
    assert client.post(reverse("catalogue:playlist_save", args=[course.pk])).status_code == 403
    assert not PlaylistItem.objects.exists()


# --- the page ------------------------------------------------------------------------------


def test_each_course_says_its_state_in_words(
    client: Any, learner: Any, units: dict[str, Unit], db: None
) -> None:
    first_aid = unit_course("HLTAID009")
    extra = unit_course("HLTAID010")
    for unit in [*units.values(), first_aid, extra]:
        services.save_course(learner, course_of(unit))
    now = timezone.now()
    give(learner, achievement(units["HLTINF006"]))  # no expiry
    give(learner, achievement(units["HLTAID011"]), valid_until=now + timedelta(days=40))
    give(learner, achievement(first_aid), valid_until=now - timedelta(days=3))
    enrol_learner(learner, CohortFactory(course=course_of(units["HLTINF007"])))

    client.force_login(learner)
    html = client.get(reverse("catalogue:playlist")).content.decode()

    assert "Competent · credential valid<" in html
    local = timezone.localtime(now + timedelta(days=40))
    assert f"Competent · credential expiring on {local:%-d %B %Y}" in html
    assert "Credential expired on" in html
    assert ">Enrolled<" in html
    assert ">Saved<" in html
    # In the learner's navigation too.
    assert f'<a href="{reverse("catalogue:playlist")}" aria-current="page">My playlist</a>' in html


def test_goals_show_progress_the_map_and_what_completes_them(
    client: Any, learner: Any, units: dict[str, Unit]
) -> None:
    goal = skill_set("HLTSS00065", [units["HLTINF006"], units["HLTINF007"]])
    made = pathway(
        "ic",
        achievement(goal),
        [
            {"key": "a", "achievements": [achievement(units["HLTINF006"])]},
            {
                "key": "b",
                "achievements": [achievement(units["HLTINF007"]), achievement(units["HLTAID011"])],
                "after": ["a"],
                "milestone": milestone("Halfway", "IC-HALF"),
            },
        ],
        title="Infection control in care work",
    )
    Goal.objects.create(learner=learner, pathway=made)
    give(learner, achievement(units["HLTINF006"]))
    client.force_login(learner)

    html = client.get(reverse("catalogue:playlist")).content.decode()

    assert "1 of 3 units" in html
    assert 'role="img"' in html
    assert "map-box--met" in html
    assert 'For <em>Infection control in care work</em>: <span class="code">HLTINF007' in html
    assert "HLTAID011" in html.split("What to do next")[1].split("My goals")[0]


def test_a_renewal_intake_is_offered_for_what_expires(
    client: Any, learner: Any, units: dict[str, Unit]
) -> None:
    now = timezone.now()
    give(learner, achievement(units["HLTAID011"]), valid_until=now + timedelta(days=20))
    intake(course_of(units["HLTAID011"]), rolling=True, name="Any day")
    intake(
        course_of(units["HLTAID011"]), name="Last year", starts_on=now.date() - timedelta(days=400)
    )
    client.force_login(learner)

    html = client.get(reverse("catalogue:playlist")).content.decode()

    section = html.split("What to do next")[1].split("My goals")[0]
    assert "Unit HLTAID011 expires on" in section
    assert "Renew it:" in section
    assert "start any day" in section


def test_learners_went_on_to_only_from_three_learners(learner: Any, units: dict[str, Unit]) -> None:
    first, then, other = (achievement(u) for u in units.values())
    give(learner, first)
    now = timezone.now()
    others = [UserFactory(roles=[Role.LEARNER]) for _ in range(4)]
    for index, person in enumerate(others):
        give(person, first, issued_at=now - timedelta(days=100))
        give(person, then, issued_at=now - timedelta(days=50))
        if index < 2:  # two learners only: never shown
            give(person, other, issued_at=now - timedelta(days=10))
    # Earned before the first: not "went on to".
    early = UserFactory(roles=[Role.LEARNER])
    give(early, other, issued_at=now - timedelta(days=300))
    give(early, first, issued_at=now - timedelta(days=100))

    page = playlist_page(learner)

    assert [(row.after, row.achievement, row.learners) for row in page.went_on_to] == [
        (first, then, 4)
    ]


def test_went_on_to_is_empty_below_three(learner: Any, units: dict[str, Unit]) -> None:
    first, then, _ = (achievement(u) for u in units.values())
    give(learner, first)
    now = timezone.now()
    for _index in range(2):
        person = UserFactory(roles=[Role.LEARNER])
        give(person, first, issued_at=now - timedelta(days=10))
        give(person, then, issued_at=now - timedelta(days=5))
    assert playlist_page(learner).went_on_to == []


def _fill(learner: Any, size: int, units: list[Unit]) -> None:
    for unit in units[:size]:
        services.save_course(learner, course_of(unit))
        give(learner, achievement(unit), valid_until=timezone.now() + timedelta(days=30))
    for index in range(min(size, 4)):
        steps = [
            {"key": f"s{n}", "achievements": [achievement(u)], "after": [f"s{n - 1}"] if n else []}
            for n, u in enumerate(units[index * 5 : index * 5 + size])
        ]
        made = pathway(
            f"p{size}-{index}", milestone(f"G {size} {index}", f"G{size}-{index}"), steps
        )
        Goal.objects.get_or_create(learner=learner, pathway=made)
    for unit in units[size : size + 2]:
        enrol_learner(learner, CohortFactory(course=course_of(unit)))
        intake(course_of(unit), rolling=True)


def test_the_page_keeps_its_query_count(
    client: Any, learner: Any, other_learner: Any, django_assert_max_num_queries: Any, db: None
) -> None:
    units = [unit_course(f"TSTP{index:04d}") for index in range(40)]
    _fill(learner, 2, units)
    _fill(other_learner, 20, units)
    for person in (learner, other_learner):
        client.force_login(person)
        with django_assert_max_num_queries(16):
            response = client.get(reverse("catalogue:playlist"))
        assert response.status_code == 200


def _render_actions(user: Any, course: Course) -> str:
    request = RequestFactory().get("/catalogue/X/")
    request.user = user
    template = Template('{% include "catalogue/_course_actions.html" %}')
    return template.render(Context({"course": course, "request": request, "csrf_token": "t"}))


def test_the_course_page_partial_saves_or_says_saved(learner: Any, units: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    course = course_of(units["HLTINF006"])
    assert "Save to my playlist" in _render_actions(learner, course)
    services.save_course(learner, course)
    assert "In your playlist" in _render_actions(learner, course)
    anonymous = _render_actions(AnonymousUser(), course)
    assert "Sign in" in anonymous
    assert "next=/catalogue/X/" in anonymous


def test_moving_with_htmx_answers_the_list_with_the_button_focused(
    client: Any, learner: Any, units: Any
) -> None:
    for unit in units.values():
        services.save_course(learner, course_of(unit))
    middle = PlaylistItem.objects.get(learner=learner, course__code="HLTINF007")
    client.force_login(learner)

    response = client.post(
        reverse("catalogue:playlist_move", args=[middle.pk]),
        {"direction": "down"},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="playlist-items">')
    assert "<h1>" not in html
    assert html.count("autofocus") == 1
    assert order(learner) == ["HLTINF006", "HLTAID011", "HLTINF007"]
