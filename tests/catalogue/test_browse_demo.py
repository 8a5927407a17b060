"""The demo data as the catalogue shows it: every sample course published, each unit of the
skill set offered on its own, the skill set's next intake and a first aid class nearly full,
while the demo learners keep the enrolments they had."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from catalogue import browse
from delivery.models import Course, Enrolment


@pytest.mark.django_db
def test_it_offers_intakes_in_the_catalogue_and_keeps_the_demo_enrolments(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    enrolments = sorted(
        Enrolment.objects.filter(learner__username__startswith="learner").values_list(
            "learner__username", "cohort__name"
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    assert (
        sorted(
            Enrolment.objects.filter(learner__username__startswith="learner").values_list(
                "learner__username", "cohort__name"
            )
        )
        == enrolments
    )
    assert {name for _, name in enrolments} == {"Demo cohort", "First aid, weekend class"}
    published = Course.objects.filter(published=True).order_by("code")
    assert [c.code for c in published] == ["HLTAID011", "HLTINF006", "HLTINF007", "HLTSS00065"]
    offers = {o.course.code: o for o in browse.offers(list(published))}
    for code in ("HLTINF006", "HLTINF007"):
        (intake,) = offers[code].intakes
        assert intake.cohort.rolling
        assert intake.places_left is None
        assert [s.code for s in offers[code].stacks_into] == ["HLTSS00065"]
    (evening,) = offers["HLTSS00065"].intakes
    assert (evening.cohort.places, evening.places_left) == (12, 12)
    (saturday,) = offers["HLTAID011"].intakes
    assert saturday.places_left == 1
    assert offers["HLTAID011"].validity == "valid 3 years"
