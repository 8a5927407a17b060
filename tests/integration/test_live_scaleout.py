"""Two daphne processes on one Redis channel layer: a learner on one sees the trainer on the other.

Real sockets (the `websockets` client), real daphne, real Redis and PostgreSQL.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from delivery.roles import Role
from delivery.services import enrol_learner
from live.models import Attendance, Connection, LiveSession
from tests.factories import CohortFactory, ResourceFactory, UserFactory
from tests.helpers import EVENT_WAIT
from tests.live.factories import LiveSessionFactory
from tests.servers import Server, free_port, start, stop, wait_until

# Its tests share the second daphne (a module fixture): under pytest-xdist (--dist loadgroup)
# they run on one worker, which starts it once.
pytestmark = pytest.mark.xdist_group("live-scaleout")


@pytest.fixture(scope="module")
def second_daphne(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Another daphne process beside `daphne_server`, sharing its database and Redis."""
    port = free_port()
    log = tmp_path_factory.mktemp("daphne-b") / "daphne.log"
    args = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    server = Server(start(args, service_env, log), log, f"http://127.0.0.1:{port}", port)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, server, "the second daphne")
    yield server
    stop(server)


def cookie_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def open_room(server: Server, session: LiveSession, user: Any | None) -> ClientConnection:
    headers = {"Cookie": cookie_for(user)} if user is not None else {}
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/live/{session.pk}/",
        additional_headers=headers,
        origin=server.url,
        open_timeout=EVENT_WAIT,
    )


def receive_type(
    socket: ClientConnection, kind: str, timeout: float = EVENT_WAIT
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message
        if message["type"] == "chat" or message.get("seq"):
            socket.send(json.dumps({"type": "ack", "seq": message.get("seq", 0)}))


@pytest.fixture(autouse=True)
def _servers_done_writing() -> Iterator[None]:
    """After a test, both servers record their sockets' leaving; the test database is then
    flushed (TRUNCATE), which deadlocked with a server still inside that leave transaction
    (CI, 2026-12-05). So the test ends when every socket's row is gone (or, if a server gave up
    on a socket's leaving, as daphne does after 10 s under load, once it has stopped trying) and
    no other connection to the test database is inside a transaction."""
    yield
    from django.db import connection

    def in_transaction() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            return int(cursor.fetchone()[0])

    deadline = time.monotonic() + EVENT_WAIT
    while Connection.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + EVENT_WAIT
    while in_transaction():
        if time.monotonic() > deadline:
            pytest.fail("a server was still inside a transaction on the test database")
        time.sleep(0.1)


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    trainer = UserFactory(
        username="int-tom", first_name="Tom", last_name="Riley", roles=[Role.TRAINER]
    )
    learner = UserFactory(
        username="int-lena", first_name="Lena", last_name="Nguyen", roles=[Role.LEARNER]
    )
    cohort = CohortFactory(trainers=[trainer])
    enrol_learner(learner, cohort)
    session = LiveSessionFactory(cohort=cohort, created_by=trainer)
    return {"trainer": trainer, "learner": learner, "session": session}


@pytest.mark.django_db(transaction=True)
def test_a_learner_on_one_process_follows_a_trainer_on_another(
    daphne_server: Server, second_daphne: Server, people: dict[str, Any]
) -> None:
    session = people["session"]
    resource = ResourceFactory(module__course=session.cohort.course, title="Glove removal")
    with (
        open_room(daphne_server, session, people["trainer"]) as tom,
        open_room(second_daphne, session, people["learner"]) as lena,
    ):
        assert receive_type(tom, "state")["role"] == "trainer"
        assert receive_type(lena, "state")["role"] == "learner"

        tom.send(json.dumps({"type": "chat", "text": "Welcome, everyone"}))
        chat = receive_type(lena, "chat")
        assert chat["seq"] == 1
        assert chat["author"] == "Tom Riley"

        lena.send(json.dumps({"type": "ask", "text": "Do gloves replace washing?"}))
        assert "Do gloves replace washing?" in receive_type(tom, "questions")["html"]

        # The trainer sees who is here, coalesced across both processes.
        presence = receive_type(tom, "presence")
        assert "Lena Nguyen" in presence["html"]

        tom.send(json.dumps({"type": "poll_open", "question": "Ready?", "kind": "single",
                             "options": ["Yes", "No"]}))  # fmt: skip
        poll = receive_type(lena, "poll")
        option = int(poll["html"].split('name="options" value="')[1].split('"')[0])
        lena.send(json.dumps({"type": "vote", "poll_id": poll["poll_id"], "options": [option]}))
        results = receive_type(tom, "poll_results")
        assert results["voters"] == 1
        assert results["counts"][str(option)] == 1

        tom.send(json.dumps({"type": "push", "resource_id": resource.pk}))
        assert receive_type(lena, "pushed")["title"] == "Glove removal"

    assert Attendance.objects.filter(session=session).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_dropped_learner_reconnects_to_the_other_process_and_catches_up(
    daphne_server: Server, second_daphne: Server, people: dict[str, Any]
) -> None:
    session = people["session"]
    with open_room(daphne_server, session, people["trainer"]) as tom:
        receive_type(tom, "state")
        with open_room(second_daphne, session, people["learner"]) as lena:
            receive_type(lena, "state")
        # While Lena is away, the room moves on.
        tom.send(json.dumps({"type": "chat", "text": "You missed this"}))
        receive_type(tom, "chat")
        with open_room(daphne_server, session, people["learner"]) as lena:
            state = receive_type(lena, "state")
            assert state["seq"] == 1
            assert "You missed this" in state["html"]

        tom.send(json.dumps({"type": "end"}))
        receive_type(tom, "ended")
        with pytest.raises(ConnectionClosed) as closed:
            tom.recv(timeout=EVENT_WAIT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4410

    session.refresh_from_db()
    assert session.ended_at is not None
    attendance = Attendance.objects.get(session=session, user=people["learner"])
    assert attendance.presences.count() == 1  # back within the grace period: one presence


@pytest.mark.django_db(transaction=True)
def test_real_clients_get_the_documented_close_codes(
    daphne_server: Server, people: dict[str, Any]
) -> None:
    outsider_learner = UserFactory(roles=[Role.LEARNER])
    enrol_learner(outsider_learner, CohortFactory())
    for user, code in ((None, 4401), (outsider_learner, 4404)):
        with open_room(daphne_server, people["session"], user) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=EVENT_WAIT)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == code
    assert not Attendance.objects.exists()
