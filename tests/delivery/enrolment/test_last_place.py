"""Two learners asking for the last place at once: one gets it, the other joins the waiting
list. The intake's row is locked while places are decided (PostgreSQL: SELECT ... FOR UPDATE;
SQLite has one writer at a time anyway)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from delivery.enrolment import services
from delivery.models import Enrolment, WaitingListEntry
from tests.delivery.enrolment.conftest import make_intake, make_learner


@pytest.mark.django_db(transaction=True)
def test_two_learners_cannot_both_take_the_last_place() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are PostgreSQL's (DATABASE_URL)")
    cohort = make_intake(places=1)
    learners = [make_learner() for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def ask(learner: Any) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.request_place(learner, cohort).kind)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(learner,)) for learner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["enrolled", "waiting"]
    assert Enrolment.objects.filter(cohort=cohort, status="active").count() == 1
    assert WaitingListEntry.objects.filter(cohort=cohort, status="waiting").count() == 1
