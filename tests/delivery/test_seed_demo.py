from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from delivery.models import Cohort, ContentPack, Course, Enrolment, Resource, ResourceProgress
from delivery.roles import Role, roles_of


@pytest.mark.django_db
def test_it_seeds_the_sample_packs_and_can_run_again(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = True
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    progress_before = ResourceProgress.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)

    assert set(ContentPack.objects.values_list("key", flat=True)) == {
        "infection-control",
        "first-aid",
    }
    skill_set = Course.objects.get(code="HLTSS00065")
    assert skill_set.kind == Course.Kind.SKILL_SET
    assert skill_set.units.count() == 2
    assert Course.objects.get(code="HLTAID011").validity_months == 36
    assert Resource.objects.filter(module__course=skill_set).exists()
    assert Cohort.objects.count() == 2
    assert Enrolment.objects.count() == 8
    assert ResourceProgress.objects.count() == progress_before > 0
    users = {u.username: u for u in get_user_model().objects.all()}
    for role in Role:
        assert any(role in roles_of(u) for u in users.values()), role
    assert users["learner"].check_password("flipside-demo")
    assert "learner    Lena Nguyen (learner)" in out.getvalue()
    assert "already imported" in out.getvalue()
    # assessment's part, through the demo_seeded signal: one quiz waiting, once
    from assessment.models import Attempt

    waiting = Attempt.objects.get()
    assert (waiting.learner.username, waiting.status) == ("learner2", "submitted")


@pytest.mark.django_db
def test_it_refuses_to_seed_published_logins_with_debug_off() -> None:
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()
