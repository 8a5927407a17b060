"""Authoring in the Django admin: the pages administrators use open, and content rules hold."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.models import Resource
from tests.factories import ModuleFactory, ResourceFactory, UnitFactory


@pytest.mark.parametrize(
    "path",
    [
        "/admin/delivery/unit/",
        "/admin/delivery/unit/add/",
        "/admin/delivery/course/",
        "/admin/delivery/course/add/",
        "/admin/delivery/module/",
        "/admin/delivery/resource/",
        "/admin/delivery/cohort/",
        "/admin/delivery/enrolment/",
        "/admin/delivery/announcement/",
        "/admin/delivery/contentpack/",
    ],
)
def test_an_administrator_opens_the_authoring_pages(
    client_for: Any, administrator: Any, path: str
) -> None:
    assert client_for(administrator).get(path).status_code == 200


def test_the_unit_page_shows_its_elements_and_evidence(client_for: Any, administrator: Any) -> None:
    unit = UnitFactory()
    html = client_for(administrator).get(f"/admin/delivery/unit/{unit.pk}/change/").content
    assert b"Elements" in html
    assert b"Evidence items" in html


def test_the_module_page_edits_its_resources_in_order(client_for: Any, administrator: Any) -> None:
    module = ModuleFactory()
    ResourceFactory(module=module, title="Second", position=2)
    ResourceFactory(module=module, title="First", position=1)
    html = client_for(administrator).get(f"/admin/delivery/module/{module.pk}/change/").content
    assert html.index(b"First") < html.index(b"Second")


def test_the_admin_refuses_a_video_from_a_host_not_allowed(
    client_for: Any, administrator: Any
) -> None:
    module = ModuleFactory()
    response = client_for(administrator).post(
        "/admin/delivery/resource/add/",
        {
            "module": module.pk,
            "key": "evil",
            "title": "Evil video",
            "kind": "video",
            "position": 1,
            "estimated_minutes": 3,
            "embed_url": "https://evil.example/embed/1",
        },
    )
    assert response.status_code == 200
    assert b"only from these hosts" in response.content
    assert not Resource.objects.filter(key="evil").exists()


@pytest.mark.parametrize("persona", ["trainer", "assessor", "learner", "auditor"])
def test_other_roles_do_not_reach_the_admin(
    request: pytest.FixtureRequest, client_for: Any, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    client = client_for(user)
    response = client.get("/admin/delivery/unit/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2Fdelivery%2Funit%2F"
    assert b"Your account cannot open that page" in response.content
