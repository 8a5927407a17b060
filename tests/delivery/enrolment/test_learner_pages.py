"""The catalogue's enrol box and its POST, the learner's enrolments page and their details."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from delivery.enrolment import services
from delivery.enrolment.selectors import intake_states
from delivery.models import Course, Enrolment, LearnerProfile, WaitingListEntry
from tests.delivery.enrolment.conftest import make_intake, make_learner, make_usi

pytestmark = pytest.mark.django_db


def enrol(client: Client, cohort: Any, next_url: str = "/catalogue/x/") -> Any:
    return client.post(reverse("delivery:enrol", args=[cohort.pk]), {"next": next_url})


def messages_of(response: Any) -> list[str]:
    """The messages waiting to be shown (redirects not followed: they pile up)."""
    return [str(m) for m in response.wsgi_request._messages]


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, intake: Any) -> None:
    response = enrol(client, intake)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_enrols_and_goes_to_the_course(client: Client, intake: Any, applicant: Any) -> None:
    client.force_login(applicant)
    response = enrol(client, intake, next_url="")
    assert response["Location"] == reverse("delivery:course", args=[intake.pk])
    assert Enrolment.objects.filter(learner=applicant, cohort=intake, status="active").exists()
    assert client.get(response["Location"]).status_code == 200


def test_it_goes_back_to_the_page_it_came_from_with_a_message(
    client: Client, intake: Any, applicant: Any
) -> None:
    client.force_login(applicant)
    response = enrol(client, intake)
    assert response["Location"] == "/catalogue/x/"
    assert messages_of(response)[-1].startswith("You are enrolled in")


def test_enrolling_twice_says_so_on_the_page_it_came_from(
    client: Client, intake: Any, applicant: Any
) -> None:
    client.force_login(applicant)
    enrol(client, intake)
    response = enrol(client, intake)
    assert response["Location"] == "/catalogue/x/"
    assert messages_of(response)[-1] == "You are already enrolled in this intake."
    assert Enrolment.objects.count() == 1


def test_a_next_off_the_site_is_not_followed(client: Client, applicant: Any) -> None:
    client.force_login(applicant)
    full = make_intake(places=0)
    response = enrol(client, full, next_url="https://evil.example/")
    assert response["Location"] == reverse("delivery:my_enrolments")


def test_without_a_usi_the_learner_is_sent_to_their_details_and_back(client: Client) -> None:
    learner = make_learner(usi=False)
    client.force_login(learner)
    cohort = make_intake()
    response = enrol(client, cohort)
    assert response["Location"] == reverse("delivery:my_details") + "?next=%2Fcatalogue%2Fx%2F"
    assert not Enrolment.objects.exists()
    page = client.get(response["Location"])
    assert "Unique Student Identifier" in page.content.decode()
    bad = client.post(
        reverse("delivery:my_details"),
        {"first_name": "A", "last_name": "B", "usi": "A6J9ZWYSFV", "next": "/catalogue/x/"},
    )
    assert bad.status_code == 400
    assert "does not match" in bad.content.decode()
    assert not LearnerProfile.objects.filter(user=learner).exclude(usi="").exists()
    saved = client.post(
        reverse("delivery:my_details"),
        {"first_name": "A", "last_name": "B", "usi": make_usi(77), "next": "/catalogue/x/"},
    )
    assert saved["Location"] == "/catalogue/x/"
    assert enrol(client, cohort)["Location"] == "/catalogue/x/"
    assert Enrolment.objects.filter(learner=learner, cohort=cohort).exists()


def test_a_usi_is_one_learners(client: Client, applicant: Any) -> None:
    other = make_learner()
    client.force_login(other)
    taken = LearnerProfile.objects.get(user=applicant).usi
    response = client.post(
        reverse("delivery:my_details"), {"first_name": "A", "last_name": "B", "usi": taken}
    )
    assert response.status_code == 400
    assert "belongs to another learner" in response.content.decode()


def test_the_enrolments_page_shows_every_kind_of_place(client: Client, applicant: Any) -> None:
    enrolled = make_intake()
    services.request_place(applicant, enrolled)
    services.request_place(applicant, make_intake(enrolment=Course.Enrolling.APPROVAL))
    full = make_intake(places=1)
    services.request_place(make_learner(), full)
    services.request_place(applicant, full)
    offered = make_intake(places=1)
    WaitingListEntry.objects.create(
        learner=applicant,
        cohort=offered,
        status="offered",
        offer_expires_at=timezone.now() + timedelta(days=3),
    )
    client.force_login(applicant)
    page = client.get(reverse("delivery:my_enrolments")).content.decode()
    assert enrolled.course.title in page
    assert "Waiting for approval" in page
    assert "You are number 1 on the waiting list" in page
    assert "Accept the place" in page


def test_the_learner_cancels_leaves_accepts_and_declines(client: Client, applicant: Any) -> None:
    request = services.request_place(
        applicant, make_intake(enrolment=Course.Enrolling.APPROVAL)
    ).request
    client.force_login(applicant)
    client.post(reverse("delivery:request_cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == "cancelled"
    again = client.post(reverse("delivery:request_cancel", args=[request.pk]))
    assert messages_of(again)[-1] == "This request is already cancelled."
    cohort = make_intake(places=1)
    entry = WaitingListEntry.objects.create(
        learner=applicant, cohort=cohort, status="offered", offer_expires_at=timezone.now()
    )
    expired = client.post(reverse("delivery:offer_accept", args=[entry.pk]))
    assert "expired" in messages_of(expired)[-1]
    assert not Enrolment.objects.filter(cohort=cohort).exists()
    entry.offer_expires_at = timezone.now() + timedelta(days=1)
    entry.save()
    client.post(reverse("delivery:offer_accept", args=[entry.pk]))
    assert Enrolment.objects.filter(learner=applicant, cohort=cohort, status="active").exists()


# --- intake_states and the enrol box --------------------------------------------------------


def test_intake_states_say_what_each_intake_offers(applicant: Any) -> None:
    now = timezone.now()
    made = {
        "open": make_intake(),
        "rolling": make_intake(rolling=True, places=None),
        "approval": make_intake(enrolment=Course.Enrolling.APPROVAL),
        "closed": make_intake(enrolment=Course.Enrolling.CLOSED),
        "not_open": make_intake(enrol_opens_at=now + timedelta(days=1)),
        "window_closed": make_intake(enrol_closes_at=now - timedelta(days=1)),
        "full": make_intake(places=0),
        "enrolled": make_intake(),
        "pending": make_intake(enrolment=Course.Enrolling.APPROVAL),
        "waiting": make_intake(places=0),
    }
    services.request_place(applicant, made["enrolled"])
    services.request_place(applicant, made["pending"])
    services.request_place(applicant, made["waiting"])
    states = intake_states(applicant, made.values())
    kinds = {name: states[cohort.pk].kind for name, cohort in made.items()}
    assert kinds == {**{name: name for name in made}, "rolling": "open"}
    assert states[made["waiting"].pk].position == 1
    assert states[made["open"].pk].places_left == 10
    assert states[made["rolling"].pk].places_left is None
    anonymous = intake_states(None, [made["open"].pk])
    assert anonymous[made["open"].pk].kind == "anonymous"


def test_intake_states_take_a_fixed_number_of_queries(
    applicant: Any, django_assert_max_num_queries: Any
) -> None:
    cohorts = [make_intake(places=3) for _ in range(40)]
    for cohort in cohorts[:10]:
        services.request_place(applicant, cohort)
        services.request_place(make_learner(), cohort)
    with django_assert_max_num_queries(4):
        states = intake_states(applicant, cohorts)
    assert len(states) == 40
    assert states[cohorts[0].pk].kind == "enrolled"
    assert states[cohorts[0].pk].places_left == 1


def render_box(user: Any, cohort: Any) -> str:
    request = RequestFactory().get("/catalogue/some-course/?q=aid")
    request.user = user
    state = intake_states(user, [cohort])[cohort.pk]
    template = Template("{% load enrolment %}{% enrol_box state %}")
    return template.render(Context({"state": state, "request": request, "csrf_token": "t"}))


def test_the_box_shows_the_right_action(applicant: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    cohort = make_intake()
    anonymous = render_box(AnonymousUser(), cohort)
    assert "Sign up to enrol" in anonymous
    assert "next=/catalogue/some-course/%3Fq%3Daid" in anonymous
    assert f'action="{reverse("delivery:enrol", args=[cohort.pk])}"' in render_box(
        applicant, cohort
    )
    services.request_place(applicant, cohort)
    assert "Go to course" in render_box(applicant, cohort)
    assert "Join waiting list" in render_box(applicant, make_intake(places=0))


def test_the_enrolments_page_keeps_its_query_count(
    client: Client, applicant: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(15):
        services.request_place(applicant, make_intake())
        services.request_place(applicant, make_intake(enrolment=Course.Enrolling.APPROVAL))
        full = make_intake(places=0)
        services.request_place(applicant, full)
    client.force_login(applicant)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("delivery:my_enrolments"))
    assert page.content.decode().count("Leave the waiting list") == 15
