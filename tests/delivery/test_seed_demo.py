from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from delivery.models import Cohort, Course, Enrolment
from delivery.roles import Role, roles_of


@pytest.mark.django_db
def test_it_seeds_the_demo_and_can_run_again(settings: Any) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)

    course = Course.objects.get()
    assert course.kind == Course.Kind.SKILL_SET
    assert course.units.count() == 2
    cohort = Cohort.objects.get()
    assert Enrolment.objects.filter(cohort=cohort).count() == 4
    users = {u.username: u for u in get_user_model().objects.all()}
    for role in Role:
        assert any(role in roles_of(u) for u in users.values()), role
    assert users["learner"].check_password("flipside-demo")
    assert "learner    Lena Nguyen (learner)" in out.getvalue()


@pytest.mark.django_db
def test_it_refuses_to_seed_published_logins_with_debug_off() -> None:
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()
