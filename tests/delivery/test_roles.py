from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from delivery.roles import Role, roles_of
from delivery.services import grant_role, revoke_role
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_migration_creates_one_group_per_role() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


@pytest.mark.django_db
def test_it_lets_a_user_hold_several_roles() -> None:
    user = UserFactory(roles=[Role.TRAINER, Role.ASSESSOR])
    assert roles_of(user) == {Role.TRAINER, Role.ASSESSOR}


@pytest.mark.django_db
def test_it_gives_administrators_the_admin_site_and_takes_it_back() -> None:
    user = UserFactory()
    grant_role(user, Role.ADMINISTRATOR)
    user.refresh_from_db()
    assert user.is_staff
    assert user.is_superuser
    assert Role.ADMINISTRATOR in roles_of(user)
    revoke_role(user, Role.ADMINISTRATOR)
    user.refresh_from_db()
    assert not user.is_staff
    assert not user.is_superuser
    assert roles_of(user) == frozenset()


@pytest.mark.django_db
def test_it_gives_no_roles_to_inactive_users() -> None:
    user = UserFactory(roles=[Role.LEARNER], is_active=False)
    assert roles_of(user) == frozenset()


@pytest.mark.parametrize(
    ("persona", "home"),
    [
        ("learner", "/learn/"),
        ("trainer", "/live/"),
        ("assessor", "/assess/queue/"),
        ("auditor", "/assess/records/"),
        ("administrator", "/admin/"),
    ],
)
def test_it_sends_each_role_to_its_home(
    request: pytest.FixtureRequest, client_for: Any, persona: str, home: str
) -> None:
    user = request.getfixturevalue(persona)
    response = client_for(user).get("/")
    assert response.status_code == 302
    assert response["Location"] == home


@pytest.mark.django_db
def test_it_sends_a_trainer_who_is_also_a_learner_to_the_trainer_home(client_for: Any) -> None:
    user = UserFactory(roles=[Role.LEARNER, Role.TRAINER])
    assert client_for(user).get("/")["Location"] == "/live/"


@pytest.mark.django_db
def test_it_shows_every_role_of_a_user_in_the_navigation(client_for: Any) -> None:
    user = UserFactory(roles=[Role.LEARNER, Role.ASSESSOR])
    html = client_for(user).get("/learn/").content.decode()
    assert 'href="/learn/" aria-current="page">My learning</a>' in html
    assert 'href="/assess/queue/">Marking</a>' in html
    assert "Sessions" not in html


def test_it_tells_a_user_without_a_role_what_to_do(client_for: Any, outsider: Any) -> None:
    response = client_for(outsider).get("/")
    assert response.status_code == 403
    assert b"Your account has no role yet" in response.content


def test_it_sends_anonymous_visitors_to_the_catalogue(client: Any, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/catalogue/"


@pytest.mark.django_db
def test_a_signed_in_request_reads_its_user_and_roles_once_each(
    client_for: Any, django_assert_max_num_queries: Any
) -> None:
    """Django's ModelBackend reads the session's user, and the roles are one query however many
    groups the user is in and however often the request asks (navigation, permissions)."""
    for n in range(30):
        Group.objects.create(name=f"extra group {n}")
    user = UserFactory(roles=list(Role))
    user.groups.add(*Group.objects.filter(name__startswith="extra group"))
    client = client_for(user)
    # user, roles; the session, when the cache has not kept it
    with django_assert_max_num_queries(3) as captured:
        response = client.get("/")  # to the role's home: the user and their roles, nothing else
    assert response["Location"] == "/live/"
    assert sum("auth_group" in q["sql"] for q in captured.captured_queries) == 1
