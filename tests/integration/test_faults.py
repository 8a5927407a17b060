"""Faults injected into the real services; nothing lost, nothing done twice (issue 15, item 14).

Each scenario records what it checked as `lost` and `duplicated` (pytest's `record_property`);
`python bench/run.py faults` runs this file and sums them into its last line. The worker killed
in the middle of issuing a credential is test_credentials_worker.py's own scenario, which the
benchmark runs too.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connections
from django.test import Client

from assessment import services as assessment
from assessment.models import Attempt, Judgement
from delivery.models import Announcement, AnnouncementEmail
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.factories import CohortFactory, UserFactory, assessable_unit
from tests.helpers import EVENT_WAIT
from tests.servers import Process, Server, spare_redis_url, start, stop, wait_until

CSRF = "faultcsrf" * 3 + "abcde"  # a 32-character CSRF secret, sent as cookie and header
RETRY_MESSAGE = "Nothing was saved"


def eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + EVENT_WAIT
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def tally(record: Callable[[str, object], None], *, lost: int, duplicated: int) -> None:
    record("lost", lost)
    record("duplicated", duplicated)


# PostgreSQL connections terminated under a request -------------------------------------------


def cookies_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}"


def post(server: Server, path: str, user: Any, fields: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310
        server.url + path,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Cookie": cookies_for(user), "X-CSRFToken": CSRF},
        method="POST",
    )

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(Stay).open(request, timeout=EVENT_WAIT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def terminate_while_blocked(
    database_url: str, lock_sql: str, params: list[Any], request: Callable[[], Any]
) -> Any:
    """Run `request` in a thread while this test holds a row lock it needs; once its
    connection waits on the lock, terminate that connection (pg_terminate_backend), as a
    database failover or an administrator would. Returns what the request returned."""
    blocker = psycopg.connect(database_url.replace("postgres://", "postgresql://"))
    result: list[Any] = []
    try:
        blocker.execute(lock_sql, params)

        def in_thread() -> None:
            try:
                result.append(request())
            finally:
                # The request signs a user in here (cookies_for): that thread's own database
                # connection, left open, could keep the test database from being dropped.
                connections.close_all()

        thread = threading.Thread(target=in_thread)
        thread.start()
        waiting = eventually(
            lambda: blocker.execute(
                # pg_locks, not pg_stat_activity: that is read once per transaction.
                "SELECT DISTINCT pid FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            ).fetchall(),
            "the server to wait for the row",
        )
        for (pid,) in waiting:
            blocker.execute("SELECT pg_terminate_backend(%s)", [pid])
        blocker.rollback()
        thread.join(EVENT_WAIT)
        assert not thread.is_alive(), "the request never answered"
    finally:
        blocker.rollback()
        blocker.close()
    return result[0]


@pytest.fixture
def submitted(db: None) -> dict[str, Any]:
    learner = UserFactory(username="fault-learner", first_name="Lena", roles=[Role.LEARNER])
    assessor = UserFactory(username="fault-assessor", roles=[Role.ASSESSOR])
    cohort = CohortFactory(assessors=[assessor])
    enrol_learner(learner, cohort)
    task = assessable_unit(course=cohort.course, items=2)["task"]
    attempt = assessment.start_attempt(learner, task, cohort)
    assessment.save_answers(attempt, learner=learner, answers={"q1": "Wash.", "q2": "Gloves."})
    attempt = assessment.submit_attempt(attempt, learner=learner, declared=True)
    return {"attempt": attempt, "assessor": assessor, "learner": learner}


@pytest.mark.django_db(transaction=True)
def test_marking_survives_its_database_connection_being_terminated(
    daphne_server: Server,
    postgres_url: str,
    submitted: dict[str, Any],
    record_property: Callable[[str, object], None],
) -> None:
    attempt: Attempt = submitted["attempt"]
    path = f"/assess/attempts/{attempt.pk}/mark/"
    fields = {"version": str(attempt.version), "declared": "on", "feedback": "Well done.",
              "result-q1": "S", "comment-q1": "", "result-q2": "S", "comment-q2": ""}  # fmt: skip

    status, page = terminate_while_blocked(
        postgres_url,
        "SELECT id FROM assessment_attempt WHERE id = %s FOR UPDATE",
        [attempt.pk],
        lambda: post(daphne_server, path, submitted["assessor"], fields),
    )
    assert status == 503, page[-2000:]
    assert RETRY_MESSAGE in page
    assert "try again" in page
    assert not Judgement.objects.filter(attempt=attempt).exists()  # nothing half-written
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED

    # The same form, sent again, marks it: the server has a new connection.
    status, page = post(daphne_server, path, submitted["assessor"], fields)
    assert status == 302, page[-2000:]
    attempt.refresh_from_db()
    assert attempt.result == Attempt.Result.SATISFACTORY
    judged = Judgement.objects.filter(attempt=attempt).count()
    tally(record_property, lost=max(0, 2 - judged), duplicated=max(0, judged - 2))
    assert judged == 2


# The mail server failing part-way through an announcement ----------------------------------


class FlakySmtp:
    """A small SMTP server on asyncio, in a thread: it accepts the first `good` messages of
    its first connection, then answers the next recipient 421 (service not available) and
    hangs up, as a mail relay restarting does. Every later connection is served fully."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.connections = 0
        self.received: list[str] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(EVENT_WAIT)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        flaky = self.connections == 1
        accepted = 0

        async def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await say("220 flaky.test ESMTP")
        try:
            while line := (await reader.readline()).decode().strip():
                verb = line.split(" ", 1)[0].upper()
                if verb in {"EHLO", "HELO"}:
                    await say("250 flaky.test")
                elif verb == "RCPT" and flaky and accepted >= self.good:
                    await say("421 flaky.test Service not available, closing channel")
                    break
                elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                    await say("250 OK")
                elif verb == "DATA":
                    await say("354 End data with <CR><LF>.<CR><LF>")
                    body = await reader.readuntil(b"\r\n.\r\n")
                    self.received.append(str(message_from_bytes(body[:-5])["To"]))
                    accepted += 1
                    await say("250 OK queued")
                elif verb == "QUIT":
                    await say("221 Bye")
                    break
                else:
                    await say("502 Not implemented")
        finally:
            writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(EVENT_WAIT)


@pytest.fixture
def own_broker(service_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A Redis database of its own for this test's worker (the run's spare: see
    tests/servers.py), so the session's worker cannot take its tasks."""
    url = spare_redis_url(service_env["REDIS_URL"])
    redis.Redis.from_url(url).flushdb()
    yield {**service_env, "REDIS_URL": url}
    redis.Redis.from_url(url).flushdb()


def worker(env: dict[str, str], log: Path) -> Process:
    args = ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
    args += [f"--hostname={log.stem}@%h", "--without-gossip", "--without-mingle"]
    process = Process(start(args, env, log), log)
    wait_until(lambda: " ready." in process.output(), process, "a Celery worker")
    return process


@pytest.mark.django_db(transaction=True)
def test_each_learner_gets_an_announcement_once_when_the_mail_server_fails_part_way(
    own_broker: dict[str, str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    trainer = UserFactory(username="fault-trainer", roles=[Role.TRAINER])
    cohort = CohortFactory(trainers=[trainer])
    learners = [UserFactory(username=f"fault-mail{i}", roles=[Role.LEARNER]) for i in range(6)]
    for learner in learners:
        enrol_learner(learner, cohort)
    announcement = Announcement.objects.create(
        cohort=cohort, title="Room change", body="We meet in B12.", author=trainer
    )
    smtp = FlakySmtp(good=2)
    env = {**own_broker, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port),
           "EMAIL_USE_TLS": "false", "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}  # fmt: skip
    mailer = worker(env, tmp_path / "mailer.log")
    try:
        from config.celery import app

        with app.connection_for_write(env["REDIS_URL"]) as connection:
            app.send_task(
                "delivery.tasks.email_announcement", args=[announcement.pk],
                connection=connection, queue="default",
            )  # fmt: skip
        eventually(
            lambda: (
                len(set(smtp.received)) == len(learners)
                or ("succeeded" in mailer.output() and smtp.connections > 1)
            ),
            "every learner's e-mail after the retry",
        )
        eventually(lambda: "succeeded" in mailer.output(), "the retried job to finish")
    finally:
        stop(mailer)
        smtp.close()
    assert smtp.connections >= 2, mailer.output()[-3000:]  # it failed, and was retried
    addresses = sorted(learner.email for learner in learners)
    lost = len(set(addresses) - set(smtp.received))
    duplicated = len(smtp.received) - len(set(smtp.received))
    tally(record_property, lost=lost, duplicated=duplicated)
    assert sorted(smtp.received) == addresses, mailer.output()[-3000:]
    assert AnnouncementEmail.objects.filter(announcement=announcement).count() == len(learners)


def tus(
    server: Server, method: str, path: str, user: Any, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(  # noqa: S310
        server.url + path,
        data=body if method in {"POST", "PATCH"} else None,
        headers={"Cookie": cookies_for(user), "X-CSRFToken": CSRF, "Tus-Resumable": "1.0.0",
                 **{k.replace("_", "-"): v for k, v in headers.items()}},
        method=method,
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=EVENT_WAIT) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_an_upload_resumes_after_its_database_connection_is_terminated(
    daphne_server: Server, postgres_url: str, record_property: Callable[[str, object], None]
) -> None:
    import base64
    import hashlib
    import os

    from assessment.models import Evidence

    learner = UserFactory(username="fault-uploader", roles=[Role.LEARNER])
    cohort = CohortFactory()
    enrol_learner(learner, cohort)
    task = assessable_unit(course=cohort.course, items=1)["task"]
    attempt = assessment.start_attempt(learner, task, cohort)
    data = b"%PDF-1.4\n" + os.urandom(256 * 1024)
    name = base64.b64encode(b"evidence.pdf").decode()
    status, headers, _ = tus(
        daphne_server, "POST", f"/assess/uploads/attempts/{attempt.pk}/", learner,
        Upload_Length=str(len(data)), Upload_Metadata=f"filename {name}",
    )  # fmt: skip
    assert status == 201
    url = headers["Location"]
    half = len(data) // 2
    part = {"Content_Type": "application/offset+octet-stream"}
    assert (
        tus(daphne_server, "PATCH", url, learner, data[:half], Upload_Offset="0", **part)[0] == 204
    )

    # The last part arrives; recording the evidence waits for the attempt's row, and its
    # database connection is terminated there.
    status, _, message = terminate_while_blocked(
        postgres_url,
        "SELECT id FROM assessment_attempt WHERE id = %s FOR UPDATE",
        [attempt.pk],
        lambda: tus(
            daphne_server, "PATCH", url, learner, data[half:], Upload_Offset=str(half), **part
        ),
    )
    assert status == 503, message
    assert RETRY_MESSAGE in message
    assert not Evidence.objects.filter(attempt=attempt).exists()

    # As tus-js-client does: ask where to carry on, and send the rest from there. An offset
    # equal to the length would make the client stop, believing the upload done.
    status, headers, _ = tus(daphne_server, "HEAD", url, learner)
    assert status == 200
    offset = int(headers["Upload-Offset"])
    assert offset < len(data)
    status, _, message = tus(
        daphne_server, "PATCH", url, learner, data[offset:], Upload_Offset=str(offset), **part
    )
    assert status == 204, message
    stored = list(Evidence.objects.filter(attempt=attempt).values_list("sha256", flat=True))
    tally(record_property, lost=0 if stored else 1, duplicated=max(0, len(stored) - 1))
    assert stored == [hashlib.sha256(data).hexdigest()]
