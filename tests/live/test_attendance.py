"""Attendance: tabs, reconnections within the grace period, minutes, lateness, the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from live import selectors, services
from live.models import Attendance, Presence
from tests.factories import EnrolmentFactory
from tests.live.factories import LiveSessionFactory

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(cohort: Any, trainer: Any) -> Any:
    return LiveSessionFactory(
        cohort=cohort, starts_at=START, ends_at=START + dt.timedelta(hours=1), created_by=trainer
    )


def at(minutes: float) -> Any:
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


def row_for(session: Any, user: Any, *, minutes: float = 60) -> selectors.AttendanceRow:
    """The user's row of the report as read `minutes` after the start."""
    with at(minutes):
        rows = selectors.attendance_report(session)
    return next(r for r in rows if r.user.pk == user.pk)


def test_it_counts_several_tabs_as_one_presence(session: Any, learner: Any, enrolled: None) -> None:
    with at(0):
        assert services.join(session, learner, socket="tab-1", learner=True) is True
        assert services.join(session, learner, socket="tab-2", learner=True) is False
    with at(10):
        assert services.leave(session.pk, learner, socket="tab-1") is False  # tab 2 is open
    with at(30):
        assert services.leave(session.pk, learner, socket="tab-2") is True
    assert Presence.objects.count() == 1
    assert row_for(session, learner).minutes == 30


def test_a_reconnection_within_the_grace_period_is_one_presence(
    session: Any, learner: Any, enrolled: None, settings: Any
) -> None:
    settings.LIVE_RECONNECT_GRACE_SECONDS = 60
    with at(0):
        services.join(session, learner, socket="a", learner=True)
    with at(20):
        services.leave(session.pk, learner, socket="a")
    with at(20.5):
        services.join(session, learner, socket="b", learner=True)
    with at(40):
        services.leave(session.pk, learner, socket="b")
    assert Presence.objects.count() == 1
    assert row_for(session, learner).minutes == 40  # the 30 s gap counts as present


def test_a_longer_absence_starts_another_presence(
    session: Any, learner: Any, enrolled: None
) -> None:
    with at(0):
        services.join(session, learner, socket="a", learner=True)
    with at(10):
        services.leave(session.pk, learner, socket="a")
    with at(25):
        services.join(session, learner, socket="b", learner=True)
    with at(45):
        services.leave(session.pk, learner, socket="b")
    assert Presence.objects.count() == 2
    assert row_for(session, learner).minutes == 30


def test_it_marks_late_arrivals(
    session: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None
) -> None:
    with at(-5):
        services.join(session, classmate, socket="early", learner=True)
    with at(12):
        services.join(session, learner, socket="late", learner=True)
        services.join(session, trainer, socket="trainer", learner=False)
    late = dict(Attendance.objects.values_list("user__username", "late"))
    assert late == {"cleo": False, "lena": True, "tom": False}


def test_ending_the_session_finalises_minutes_and_closes_presences(
    session: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None
) -> None:
    with at(0):
        services.join(session, learner, socket="a", learner=True)
    with at(5):
        services.join(session, classmate, socket="b", learner=True)
    with at(50):
        services.end_session(session, by=trainer)
    with at(500):  # long after: nothing keeps counting
        rows = {r.user.username: r for r in selectors.attendance_report(session)}
    assert rows["lena"].minutes == 50
    assert rows["cleo"].minutes == 45
    assert not Presence.objects.filter(left_at__isnull=True).exists()
    assert Attendance.objects.get(user=learner).seconds == 50 * 60
    with at(51):
        assert services.leave(session.pk, learner, socket="a") is False  # already closed


def test_the_report_lists_absent_learners_and_not_the_trainer(
    session: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None
) -> None:
    with at(0):
        services.join(session, learner, socket="a", learner=True)
        services.join(session, trainer, socket="t", learner=False)
    with at(15):
        rows = {r.user.username: r for r in selectors.attendance_report(session)}
    assert set(rows) == {"lena", "cleo"}
    assert rows["lena"].present_now
    assert rows["lena"].minutes == 15
    assert not rows["cleo"].attended
    assert rows["cleo"].minutes == 0


def test_an_unended_session_stops_counting_after_its_overrun(
    session: Any, learner: Any, enrolled: None
) -> None:
    with at(0):
        services.join(session, learner, socket="a", learner=True)
    assert row_for(session, learner, minutes=60 * 24).minutes == 60 + 120  # ends + overrun


def test_the_report_keeps_its_query_count_with_a_large_cohort(
    session: Any, cohort: Any, django_assert_max_num_queries: Any
) -> None:
    enrolments = EnrolmentFactory.create_batch(60, cohort=cohort)
    now = timezone.now()
    for n, enrolment in enumerate(enrolments[:40]):
        attendance = Attendance.objects.create(
            session=session, user=enrolment.learner, first_joined_at=now
        )
        Presence.objects.create(attendance=attendance, joined_at=now, left_at=now)
        if n % 2:
            Presence.objects.create(attendance=attendance, joined_at=now)
    with django_assert_max_num_queries(6):
        rows = selectors.attendance_report(session)
    assert len(rows) == 60
    assert sum(r.attended for r in rows) == 40


def test_sockets_of_a_dead_process_are_pruned_as_of_when_last_seen(
    session: Any, learner: Any, classmate: Any, enrolled: None, settings: Any
) -> None:
    settings.LIVE_HEARTBEAT_SECONDS = 30
    with at(0):
        services.join(session, learner, socket="dead-process", learner=True)
        services.join(session, classmate, socket="live-process", learner=True)
    with at(10):
        services.touch_connections(["dead-process", "live-process"])
    with at(20):
        services.touch_connections(["live-process"])  # the other process stopped beating
    with at(11.5):
        assert services.prune_connections(session.pk) is False  # not stale yet
    with at(30):
        services.touch_connections(["live-process"])
        assert services.prune_connections(session.pk) is True
    rows = {r.user.username: r for r in selectors.attendance_report(session, now=START)}
    assert not Presence.objects.filter(attendance__user=learner, left_at__isnull=True).exists()
    assert Attendance.objects.get(user=learner).last_left_at == START + dt.timedelta(minutes=10)
    assert Presence.objects.filter(attendance__user=classmate, left_at__isnull=True).exists()
    assert set(rows) == {"lena", "cleo"}
