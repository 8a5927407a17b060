"""Pathways: the rules a provider's pathway keeps (each refused with a clear message and
nothing saved), the public pages and map, the learner's position, and goals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalogue.models import Goal, Pathway, PathwayStep
from catalogue.pathways import services
from catalogue.pathways.selectors import pathway_problems
from delivery.models import Unit
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.catalogue.pathway_world import (
    achievement,
    give,
    milestone,
    pathway,
    skill_set,
    unit_course,
)
from tests.factories import CohortFactory, UserFactory


@pytest.fixture
def units(db: None) -> dict[str, Unit]:
    return {code: unit_course(code) for code in ("HLTINF006", "HLTINF007", "HLTWHS001")}


@pytest.fixture
def infection(units: dict[str, Unit]) -> Pathway:
    """HLTINF006 (milestone), then HLTINF007, toward the skill set HLTSS00065."""
    goal = skill_set("HLTSS00065", [units["HLTINF006"], units["HLTINF007"]])
    return pathway(
        "infection-control",
        achievement(goal),
        [
            {
                "key": "basics",
                "title": "Infection control basics",
                "achievements": [achievement(units["HLTINF006"])],
                "milestone": milestone("Infection control basics", "IC-BASICS"),
            },
            {
                "key": "lead",
                "title": "Lead infection control",
                "achievements": [achievement(units["HLTINF007"])],
                "after": ["basics"],
            },
        ],
        title="Infection control in care work",
    )


@pytest.fixture
def admin(db: None) -> Any:
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


def messages_of(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(error.value.messages)


# --- bad input: each refused, nothing saved -----------------------------------------------


def test_it_refuses_a_cycle_and_names_its_steps(infection: Pathway) -> None:
    basics = infection.steps.get(key="basics")
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            step=basics,
            key="basics",
            title="Infection control basics",
            requirement="required",
            choose=None,
            codes=["HLTINF006"],
            after=["lead"],
        )
    text = messages_of(error)
    assert "goes round in a circle" in text
    assert "“Infection control basics”" in text
    assert "“Lead infection control”" in text
    assert list(basics.after.all()) == []


def test_a_three_step_cycle_is_named_in_order(units: dict[str, Unit]) -> None:
    made = pathway(
        "loop",
        achievement(units["HLTWHS001"]),
        [
            {"key": "a", "title": "A", "achievements": [achievement(units["HLTINF006"])]},
            {"key": "b", "title": "B", "achievements": [achievement(units["HLTINF007"])]},
            {
                "key": "c",
                "title": "C",
                "achievements": [achievement(units["HLTWHS001"])],
                "after": ["b"],
            },
        ],
        published=False,
    )
    made.steps.get(key="b").after.set([made.steps.get(key="a")])
    made.steps.get(key="a").after.set([made.steps.get(key="c")])

    messages = [p.message for p in pathway_problems(made)]

    assert any("“A” → “B” → “C” → “A”" in m or "“B” → “C” → “A” → “B”" in m for m in messages), (
        messages
    )
    with pytest.raises(ValidationError):
        services.publish_pathway(made, published=True)
    made.refresh_from_db()
    assert made.published is False


def test_it_refuses_choosing_more_than_a_step_offers(infection: Pathway) -> None:
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            key="extra",
            title="Extra skills",
            requirement="choice",
            choose=3,
            codes=["HLTINF006", "HLTWHS001"],
        )
    assert "asks for 3 of 2 achievements, so it can never be met" in messages_of(error)
    assert not infection.steps.filter(key="extra").exists()


def test_it_refuses_a_step_with_a_superseded_unit(
    infection: Pathway, units: dict[str, Unit]
) -> None:
    Unit.objects.filter(code="HLTWHS001").update(status=Unit.Status.SUPERSEDED)
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            key="safety",
            title="Work safely",
            requirement="required",
            choose=None,
            codes=["HLTWHS001"],
        )
    assert "can never be met: HLTWHS001 is a superseded unit" in messages_of(error)
    assert infection.steps.count() == 2


def test_it_refuses_a_step_whose_course_is_not_published(infection: Pathway) -> None:
    skill_set("HLTSS00099", [Unit.objects.get(code="HLTWHS001")], published=False)
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            key="more",
            title="More",
            requirement="optional",
            choose=None,
            codes=["HLTSS00099"],
        )
    assert "HLTSS00099 is a course not published in the catalogue" in messages_of(error)


def test_a_choice_still_met_with_one_retired_unit_is_accepted(infection: Pathway) -> None:
    Unit.objects.filter(code="HLTWHS001").update(status=Unit.Status.DELETED)
    unit_course("CHCCOM005")
    step = services.save_step(
        infection,
        key="pick",
        title="Pick one",
        requirement="choice",
        choose=1,
        codes=["HLTWHS001", "CHCCOM005"],
    )
    assert step.choose == 1
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            step=step,
            key="pick",
            title="Pick one",
            requirement="choice",
            choose=2,
            codes=["HLTWHS001", "CHCCOM005"],
        )
    assert "only 1 can still be earned (HLTWHS001: is a deleted unit)" in messages_of(error)


def test_it_refuses_an_unknown_code(infection: Pathway) -> None:
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection, key="x", title="X", requirement="required", choose=None, codes=["NOPE1"]
        )
    assert "No unit, course or milestone has the code “NOPE1”" in messages_of(error)


def test_publishing_needs_steps_that_lead_to_the_goal(units: dict[str, Unit]) -> None:
    goal = skill_set("HLTSS00065", [units["HLTINF006"], units["HLTINF007"]])
    made = pathway(
        "half",
        achievement(goal),
        [{"key": "one", "achievements": [achievement(units["HLTINF006"])]}],
        published=False,
    )
    with pytest.raises(ValidationError) as error:
        services.publish_pathway(made, published=True)
    assert "No required step leads to the goal HLTSS00065: it needs HLTINF007" in messages_of(error)
    made.refresh_from_db()
    assert not made.published

    empty = pathway("empty", achievement(goal), [], published=False)
    with pytest.raises(ValidationError) as error:
        services.publish_pathway(empty, published=True)
    assert "A pathway needs at least one step." in messages_of(error)


def test_a_milestone_goal_is_led_to_by_any_steps(units: dict[str, Unit]) -> None:
    made = pathway(
        "ready",
        milestone("Ready for the floor", "READY"),
        [{"key": "one", "achievements": [achievement(units["HLTINF006"])]}],
        published=False,
    )
    assert services.publish_pathway(made, published=True).published


# --- the staff pages ----------------------------------------------------------------------


def test_an_administrator_defines_and_publishes_a_pathway(
    client: Any, admin: Any, units: Any
) -> None:
    skill_set("HLTSS00065", [units["HLTINF006"], units["HLTINF007"]])
    client.force_login(admin)

    response = client.post(
        reverse("catalogue:pathway_new"),
        {"key": "ic", "title": "Infection control", "summary": "", "goal_code": "HLTSS00065"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("catalogue:pathway_step_new", args=["ic"]),
        {
            "key": "basics",
            "title": "Basics",
            "requirement": "required",
            "codes": "HLTINF006",
            "milestone_name": "Infection control basics",
            "milestone_description": "Knows the standard precautions.",
        },
    )
    assert response.status_code == 302, response.content.decode()
    response = client.post(
        reverse("catalogue:pathway_step_new", args=["ic"]),
        {
            "key": "lead",
            "title": "Lead",
            "requirement": "required",
            "codes": "HLTINF007",
            "after": ["basics"],
        },
    )
    assert response.status_code == 302, response.content.decode()
    response = client.post(reverse("catalogue:pathway_publish", args=["ic"]), {"published": "1"})

    made = Pathway.objects.get(key="ic")
    assert made.published
    basics = made.steps.get(key="basics")
    assert basics.milestone is not None
    assert basics.milestone.is_milestone
    assert basics.milestone.name == "Infection control basics"
    assert [s.key for s in made.steps.get(key="lead").after.all()] == ["basics"]
    page = client.get(reverse("catalogue:pathway_edit", args=["ic"]))
    assert page.status_code == 200
    assert "Withdraw from the catalogue" in page.content.decode()


def test_the_step_form_shows_a_cycle_and_saves_nothing(
    client: Any, admin: Any, infection: Pathway
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("catalogue:pathway_step_edit", args=[infection.key, "basics"]),
        {
            "key": "basics",
            "title": "Infection control basics",
            "requirement": "required",
            "codes": "HLTINF006",
            "after": ["lead"],
        },
    )
    assert response.status_code == 200
    assert "goes round in a circle" in response.content.decode()
    assert not infection.steps.get(key="basics").after.exists()


def test_the_step_form_refuses_a_choice_that_can_never_be_met(
    client: Any, admin: Any, infection: Pathway
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("catalogue:pathway_step_new", args=[infection.key]),
        {
            "key": "pick",
            "title": "Pick",
            "requirement": "choice",
            "choose": "5",
            "codes": "HLTINF006 HLTWHS001",
        },
    )
    assert response.status_code == 200
    assert "asks for 5 of 2 achievements, so it can never be met" in response.content.decode()
    assert infection.steps.count() == 2


def test_publishing_a_pathway_with_problems_lists_them(client: Any, admin: Any, units: Any) -> None:
    goal = skill_set("HLTSS00065", [units["HLTINF006"], units["HLTINF007"]])
    made = pathway("half", achievement(goal), [], published=False)
    client.force_login(admin)
    response = client.post(
        reverse("catalogue:pathway_publish", args=["half"]), {"published": "1"}, follow=True
    )
    assert "A pathway needs at least one step." in response.content.decode()
    made.refresh_from_db()
    assert not made.published


@pytest.mark.parametrize("role", [Role.LEARNER, Role.TRAINER, Role.ASSESSOR, Role.AUDITOR])
def test_only_administrators_edit_pathways(client: Any, infection: Pathway, role: Role) -> None:
    client.force_login(UserFactory(roles=[role]))
    step = {"key": "x", "title": "X", "requirement": "required", "codes": "HLTWHS001"}
    for name, args, data in [
        ("catalogue:pathway_manage", [], None),
        ("catalogue:pathway_new", [], {"key": "n", "title": "N", "goal_code": "HLTINF006"}),
        ("catalogue:pathway_edit", [infection.key], {"title": "Hacked", "goal_code": "HLTINF006"}),
        ("catalogue:pathway_publish", [infection.key], {"published": "0"}),
        ("catalogue:pathway_step_new", [infection.key], step),
        ("catalogue:pathway_step_edit", [infection.key, "basics"], step),
        ("catalogue:pathway_step_delete", [infection.key, "basics"], {}),
    ]:
        url = reverse(name, args=args)
        assert client.get(url).status_code in (403, 405), url
        if data is not None:
            assert client.post(url, data).status_code == 403, url
    infection.refresh_from_db()
    assert infection.title == "Infection control in care work"
    assert infection.published
    assert infection.steps.count() == 2
    assert Pathway.objects.count() == 1


# --- public pages and the map -------------------------------------------------------------


def test_the_public_page_draws_the_map_and_its_text_alternative(
    client: Any, infection: Pathway
) -> None:
    response = client.get(reverse("catalogue:pathway", args=[infection.key]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="img"' in html
    assert "<title id=" in html
    assert "<desc id=" in html
    assert 'viewBox="0 0 ' in html
    assert "style=" not in html.split('<main id="main"')[1]  # the CSP allows no inline style
    assert "Steps in the recommended order" in html
    assert "★ Milestone credential: Infection control basics" in html
    assert "Recommended after: Infection control basics" in html
    assert html.count("<line ") == 2  # basics -> lead, lead -> the goal
    assert "Sign in</a> to see where you are" in html


def test_an_unpublished_pathway_is_not_found(client: Any, infection: Pathway) -> None:
    Pathway.objects.filter(pk=infection.pk).update(published=False)
    assert client.get(reverse("catalogue:pathway", args=[infection.key])).status_code == 404
    assert infection.title not in client.get(reverse("catalogue:pathways")).content.decode()


def test_a_learner_sees_their_position(
    client: Any, learner: Any, infection: Pathway, units: dict[str, Unit]
) -> None:
    give(learner, achievement(units["HLTINF006"]))
    cohort = CohortFactory(course=units["HLTINF007"].courses.get(kind="unit"))
    enrol_learner(learner, cohort)
    client.force_login(learner)

    html = client.get(reverse("catalogue:pathway", args=[infection.key])).content.decode()

    assert "1 of 2 units" in html
    assert "map-box--met" in html
    assert "map-box--progress" in html
    assert "Set as my goal" in html


def test_the_next_recommended_step_follows_the_met_ones(
    client: Any, learner: Any, infection: Pathway, units: dict[str, Unit]
) -> None:
    client.force_login(learner)
    html = client.get(reverse("catalogue:pathway", args=[infection.key])).content.decode()
    # Nothing held: the first step is next; the second waits for it.
    assert html.count("map-box--next") == 1
    assert "map-box--todo" in html
    give(learner, achievement(units["HLTINF006"]))
    html = client.get(reverse("catalogue:pathway", args=[infection.key])).content.decode()
    assert "map-box--met" in html
    assert html.count("map-box--next") == 1


def test_a_learner_sets_and_drops_a_goal_twice_harmlessly(
    client: Any, learner: Any, infection: Pathway
) -> None:
    client.force_login(learner)
    url = reverse("catalogue:pathway_goal", args=[infection.key])
    client.post(url)
    client.post(url)
    assert Goal.objects.filter(learner=learner, pathway=infection).count() == 1
    client.post(url, {"action": "remove"})
    assert not Goal.objects.filter(learner=learner).exists()


def test_a_goal_on_an_unpublished_pathway_is_not_found(
    client: Any, learner: Any, infection: Pathway
) -> None:
    Pathway.objects.filter(pk=infection.pk).update(published=False)
    client.force_login(learner)
    response = client.post(reverse("catalogue:pathway_goal", args=[infection.key]))
    assert response.status_code == 404
    assert not Goal.objects.exists()


def _big_pathway(key: str, size: int, units: list[Unit]) -> Pathway:
    steps = []
    for index in range(size):
        steps.append(
            {
                "key": f"s{index}",
                "title": f"Step {index}",
                "requirement": "choice" if index % 3 == 2 else "required",
                "choose": 1 if index % 3 == 2 else None,
                "achievements": [achievement(u) for u in units[index * 2 : index * 2 + 2]],
                "after": [f"s{index - 1}"] if index else [],
                "milestone": milestone(f"Milestone {key} {index}", f"M-{key}-{index}")
                if index % 4 == 0
                else None,
            }
        )
    goal = milestone(f"Goal {key}", f"G-{key}")
    return pathway(key, goal, steps)


def test_pages_keep_their_query_count_with_a_bigger_pathway(
    client: Any, learner: Any, django_assert_max_num_queries: Any, db: None
) -> None:
    units = [unit_course(f"TSTU{index:04d}") for index in range(60)]
    small = _big_pathway("small", 2, units)
    big = _big_pathway("big", 25, units)
    for unit in units[::3]:
        give(learner, achievement(unit))
    enrol_learner(learner, CohortFactory(course=units[5].courses.get(kind="unit")))
    client.force_login(learner)

    for made in (small, big):
        with django_assert_max_num_queries(9):
            response = client.get(reverse("catalogue:pathway", args=[made.key]))
        assert response.status_code == 200
    for _ in range(10):
        _big_pathway(f"more{_}", 5, units)
    with django_assert_max_num_queries(7):
        assert client.get(reverse("catalogue:pathways")).status_code == 200


def test_course_partials_name_its_pathways(infection: Pathway, units: dict[str, Unit]) -> None:
    from django.template.loader import render_to_string

    course = units["HLTINF007"].courses.get(kind="unit")
    html = render_to_string("catalogue/_course_pathways.html", {"course": course})
    assert reverse("catalogue:pathway", args=[infection.key]) in html
    other = unit_course("BSBOPS001").courses.get(kind="unit")
    assert "<li>" not in render_to_string("catalogue/_course_pathways.html", {"course": other})


def test_the_step_state_reads_every_achievement_of_a_choice(
    learner: Any, units: dict[str, Unit]
) -> None:
    from catalogue.pathways.selectors import held_in_force, step_is_met

    step = PathwayStep(requirement="choice", choose=2)
    a = [achievement(u) for u in units.values()]
    give(learner, a[0])
    give(learner, a[1], revoked=True)
    assert not step_is_met(step, a, held_in_force(learner))
    give(learner, a[2])
    assert step_is_met(step, a, held_in_force(learner))


def test_the_edit_page_keeps_its_query_count(
    client: Any, admin: Any, django_assert_max_num_queries: Any, db: None
) -> None:
    units = [unit_course(f"TSTE{index:04d}") for index in range(60)]
    small = _big_pathway("small", 2, units)
    big = _big_pathway("big", 25, units)
    client.force_login(admin)
    for made in (small, big):
        with django_assert_max_num_queries(20):
            response = client.get(reverse("catalogue:pathway_edit", args=[made.key]))
        assert response.status_code == 200
        assert response.content.decode().count("catalogue/manage/pathways/") > 2


def test_an_unknown_goal_is_refused_by_the_form(client: Any, admin: Any, db: None) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("catalogue:pathway_new"), {"key": "x", "title": "X", "goal_code": "NOPE9"}
    )
    assert response.status_code == 200
    assert "No unit, course or milestone has the code “NOPE9”" in response.content.decode()
    assert not Pathway.objects.exists()


def test_removing_a_step_the_goal_needs_from_a_published_pathway_is_refused(
    client: Any, admin: Any, infection: Pathway
) -> None:
    client.force_login(admin)
    url = reverse("catalogue:pathway_step_delete", args=[infection.key, "lead"])
    response = client.post(url, follow=True)
    assert "No required step leads to the goal HLTSS00065" in response.content.decode()
    assert infection.steps.filter(key="lead").exists()
    # Withdrawn from the catalogue first, it can go.
    client.post(reverse("catalogue:pathway_publish", args=[infection.key]), {"published": "0"})
    client.post(url)
    assert not infection.steps.filter(key="lead").exists()


def test_renaming_a_step_to_a_taken_key_is_refused(infection: Pathway) -> None:
    lead = infection.steps.get(key="lead")
    with pytest.raises(ValidationError) as error:
        services.save_step(
            infection,
            step=lead,
            key="basics",
            title="Lead",
            requirement="required",
            choose=None,
            codes=["HLTINF007"],
        )
    assert "The pathway has a step with the key “basics” already." in messages_of(error)
    lead.refresh_from_db()
    assert lead.key == "lead"
