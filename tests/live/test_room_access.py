"""Who gets into a room, and the documented close codes for everyone else."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from config.asgi import application
from delivery.roles import Role
from live.models import Attendance, Connection
from live.permissions import RoomRole, room_admission, room_role
from tests.factories import UserFactory
from tests.helpers import EVENT_WAIT
from tests.live.conftest import refusal_code
from tests.live.factories import LiveSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def nobody_joined(session: Any) -> bool:
    counts = await sync_to_async(
        lambda: (
            Attendance.objects.filter(session=session).count(),
            Connection.objects.filter(session=session).count(),
        )
    )()
    return counts == (0, 0)


async def test_it_lets_a_learner_of_the_cohort_in_with_the_room_state(
    join: Any, learner: Any, enrolled: None, live_session: Any
) -> None:
    socket = await join(learner, live_session)
    assert socket.state["role"] == "learner"
    assert socket.state["seq"] == 0
    assert 'id="live-chat-list"' in socket.state["html"]
    assert 'id="live-presence"' not in socket.state["html"]  # who is here: the trainer's only
    assert await sync_to_async(Attendance.objects.filter(user=learner).exists)()


async def test_it_lets_the_trainer_in_as_trainer(
    join: Any, trainer: Any, live_session: Any
) -> None:
    socket = await join(trainer, live_session)
    assert socket.state["role"] == "trainer"
    assert 'id="live-presence"' in socket.state["html"]


async def test_it_refuses_a_socket_without_a_session_cookie(live_session: Any) -> None:
    assert await refusal_code(AnonymousUser(), live_session.pk) == 4401
    assert await nobody_joined(live_session)


async def test_it_refuses_a_learner_of_another_cohort(
    other_learner: Any, enrolled: None, live_session: Any
) -> None:
    assert await refusal_code(other_learner, live_session.pk) == 4404
    assert await nobody_joined(live_session)


async def test_it_refuses_staff_who_may_read_but_not_join(
    assessor: Any, auditor: Any, live_session: Any
) -> None:
    assert await refusal_code(assessor, live_session.pk) == 4403
    assert await refusal_code(auditor, live_session.pk) == 4403
    assert await nobody_joined(live_session)


async def test_it_refuses_a_session_that_does_not_exist(learner: Any, enrolled: None) -> None:
    assert await refusal_code(learner, 999_999) == 4404


async def test_it_refuses_after_the_session_ended(
    learner: Any, enrolled: None, live_session: Any
) -> None:
    live_session.ended_at = timezone.now()
    await sync_to_async(live_session.save)()
    assert await refusal_code(learner, live_session.pk) == 4410
    assert await nobody_joined(live_session)


async def test_it_refuses_a_learner_before_the_room_opens_but_not_the_trainer(
    learner: Any, trainer: Any, enrolled: None, cohort: Any, join: Any
) -> None:
    later = await sync_to_async(LiveSessionFactory)(
        cohort=cohort, starts_at=timezone.now() + dt.timedelta(hours=2)
    )
    assert await refusal_code(learner, later.pk) == 4425
    assert await nobody_joined(later)
    socket = await join(trainer, later)  # trainers set up early
    assert socket.state["role"] == "trainer"


async def test_it_refuses_a_withdrawn_learner(
    learner: Any, enrolled: None, live_session: Any
) -> None:
    await sync_to_async(lambda: learner.enrolments.update(status="withdrawn"))()
    assert await refusal_code(learner, live_session.pk) == 4404


async def test_the_asgi_app_refuses_a_foreign_origin(
    learner: Any, enrolled: None, live_session: Any
) -> None:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/live/{live_session.pk}/",
        headers=[(b"origin", b"https://evil.example"), (b"host", b"localhost")],
    )
    connected, _ = await communicator.connect(timeout=EVENT_WAIT)
    assert not connected
    assert await nobody_joined(live_session)


async def test_the_room_beats_for_its_sockets_and_prunes_dead_ones(
    join: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None, live_session: Any,
    settings: Any,
) -> None:  # fmt: skip
    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    tom = await join(trainer, live_session)
    await join(learner, live_session)
    # A socket left behind by a process that died an hour ago: never touched since.
    from live import services

    def ghost() -> None:
        services.join(live_session, classmate, socket="ghost", learner=True)
        Connection.objects.filter(channel_name="ghost").update(
            seen_at=timezone.now() - dt.timedelta(hours=1)
        )

    await sync_to_async(ghost)()
    # Presence refreshes arrive as the room changes (on a busy machine the trainer's own
    # arrival, and Lena's from before the ghost joined, may still be queued): wait until the
    # ghost's row is gone and a refresh without it has come.
    ghost_left = sync_to_async(lambda: not Connection.objects.filter(channel_name="ghost").exists())
    deadline = time.monotonic() + EVENT_WAIT
    while True:
        presence = await tom.receive_type("presence", max(0.1, deadline - time.monotonic()))
        html = presence["html"]
        if "Lena Nguyen" in html and "Cleo Park" not in html and await ghost_left():
            break
    assert await sync_to_async(Connection.objects.filter(user=learner).exists)()


async def test_two_tabs_are_one_presence_until_the_last_one_closes(
    join: Any, learner: Any, enrolled: None, live_session: Any
) -> None:
    from live.models import Presence

    def open_presences() -> int:
        return Presence.objects.filter(attendance__user=learner, left_at__isnull=True).count()

    first = await join(learner, live_session)
    second = await join(learner, live_session)
    assert await sync_to_async(open_presences)() == 1
    assert await sync_to_async(Connection.objects.filter(user=learner).count)() == 2
    await first.close()
    assert await sync_to_async(open_presences)() == 1
    await second.close()
    assert await sync_to_async(open_presences)() == 0
    assert await sync_to_async(Presence.objects.count)() == 1


def test_admission_is_one_query_and_agrees_with_who_may_join(
    django_assert_num_queries: Any,
    learner: Any,
    other_learner: Any,
    trainer: Any,
    assessor: Any,
    auditor: Any,
    administrator: Any,
    outsider: Any,
    enrolled: None,
    live_session: Any,
) -> None:
    """Every socket of a class arriving at once asks this, so it is one query, roles and all."""
    guest = UserFactory(first_name="Gus", roles=[Role.TRAINER])  # teaches this session only
    live_session.trainers.add(guest)
    stranger = UserFactory(first_name="Sam", roles=[Role.TRAINER])  # teaches elsewhere
    people = [learner, other_learner, trainer, guest, stranger, assessor, auditor, administrator]
    for user in [*people, outsider]:
        with django_assert_num_queries(1):
            admitted = room_admission(user, live_session.pk)
        assert (admitted[1] if admitted else None) == room_role(user, live_session), user
    assert room_admission(learner, live_session.pk) == (live_session, RoomRole.LEARNER)
    assert room_admission(guest, live_session.pk) == (live_session, RoomRole.TRAINER)
    assert room_admission(learner, 999_999) is None
