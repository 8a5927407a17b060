"""The integration harness itself, proven against the real services."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from delivery.notifications import notify_user
from delivery.roles import Role
from delivery.tasks import send_email
from tests.factories import UserFactory
from tests.helpers import EVENT_WAIT
from tests.servers import Process, Server


def test_the_suite_runs_on_postgresql(postgres_url: str, db: None) -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert postgres_url.endswith("/" + cursor.fetchone()[0])


def test_a_task_sent_over_redis_runs_in_the_worker_process(celery_worker: Process) -> None:
    result = send_email.delay("Harness check 7f3a", "Sent by the test.", ["probe@example.test"])
    assert result.get(timeout=EVENT_WAIT) == 1
    # The console e-mail backend printed the message in the worker's own output.
    assert "Subject: Harness check 7f3a" in celery_worker.output()
    assert celery_worker.popen.pid != os.getpid()


@pytest.mark.django_db(transaction=True)
def test_a_group_message_over_redis_reaches_a_websocket_on_daphne(
    daphne_server: Server,
) -> None:
    user: Any = UserFactory(roles=[Role.LEARNER])
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    with connect(
        f"ws://127.0.0.1:{daphne_server.port}/ws/notifications/",
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=daphne_server.url,
        open_timeout=EVENT_WAIT,
    ) as socket:
        # Sent from this process through the Redis channel layer, not through daphne.
        notify_user(user.pk, "Hello across processes", level="success")
        message = json.loads(socket.recv(timeout=EVENT_WAIT))

    assert message["type"] == "notification"
    assert "Hello across processes" in message["html"]


@pytest.mark.django_db(transaction=True)
def test_daphne_refuses_a_socket_without_a_session(daphne_server: Server) -> None:
    url = f"ws://127.0.0.1:{daphne_server.port}/ws/notifications/"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=daphne_server.url, open_timeout=EVENT_WAIT)
    assert refused.value.response.status_code == 403
