"""Concurrent issuing on the real PostgreSQL (issue 16): two units of a skill set recorded
Competent at the same moment on two workers issue one skill set credential, and the same unit
Competent in two cohorts at once issues one unit credential. The learner's row lock is what
serialises them; without it each worker would see nothing in force and issue its own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from credentials.models import Credential, StackedCredit
from credentials.services import issue_unit_credential
from delivery.services import enrol_learner
from tests.credentials.helpers import competent
from tests.credentials.stacking import make_stack
from tests.factories import UserFactory
from tests.helpers import EVENT_WAIT


def _on_postgresql() -> None:
    # The embedded stage has no PostgreSQL by design; make test runs this in its PostgreSQL
    # stage (DATABASE_URL), as tests/delivery/enrolment/test_last_place.py.
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are PostgreSQL's (DATABASE_URL)")


def _at_once(outcome_ids: list[int]) -> list[Any]:
    start = threading.Barrier(len(outcome_ids))

    def issue(outcome_id: int) -> Any:
        try:
            start.wait(timeout=EVENT_WAIT)
            credential = issue_unit_credential(outcome_id)
            return credential.pk if credential else None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(outcome_ids)) as pool:
        return list(pool.map(issue, outcome_ids))


@pytest.mark.django_db(transaction=True)
def test_two_units_completing_at_once_issue_one_skill_set() -> None:
    _on_postgresql()
    learner, assessor = UserFactory(username="lena"), UserFactory(username="asha")
    stack = make_stack(learner, assessor)
    outcomes = [
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk,
        competent(learner, stack.hltinf007, stack.intake_007, assessor).pk,
    ]

    _at_once(outcomes)

    [skill_set] = Credential.objects.filter(achievement__course=stack.skill_set)
    assert Credential.objects.filter(achievement__unit__isnull=False).count() == 2
    assert StackedCredit.objects.filter(course_credential=skill_set).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_unit_in_two_cohorts_at_once_is_one_credential() -> None:
    _on_postgresql()
    learner, assessor = UserFactory(username="lena"), UserFactory(username="asha")
    stack = make_stack(learner, assessor)
    enrol_learner(learner, stack.skill_set_intake)
    outcomes = [
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk,
        competent(learner, stack.hltinf006, stack.skill_set_intake, assessor).pk,
    ]

    issued = _at_once(outcomes)

    assert issued[0] == issued[1]
    assert Credential.objects.count() == 1
