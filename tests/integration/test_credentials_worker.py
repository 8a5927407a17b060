"""Issue 5's "done when", on the real services: a Competent outcome becomes a credential
through Redis and a real Celery worker; its public page says valid; Digital Bazaar's verifier
accepts its JSON and its baked PNG; after revocation the status list makes that verifier report
it revoked. And a worker killed (SIGKILL) in the middle of issuing leaves exactly one
credential once Redis hands the unacknowledged task to the next worker."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection
from django.test import Client

from assessment.audit.services import ADVISORY_LOCK_KEY
from assessment.models import AuditEvent, Outcome
from assessment.signals import unit_outcome_recorded
from credentials.models import Credential
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.credentials.helpers import verify_independently
from tests.factories import CohortFactory, UserFactory, assessable_unit
from tests.helpers import EVENT_WAIT
from tests.servers import Process, spare_redis_url, start, stop, wait_until

TASK = "credentials.tasks.issue_credentials_for_outcome"


def eventually(check: Callable[[], Any], what: str, timeout: float = EVENT_WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def same_address_as_the_workers(settings: Any, service_env: dict[str, str]) -> None:
    """The issuer made here (its did:web names the public address) is the one the workers
    sign as: they run with the services' PUBLIC_URL."""
    settings.PUBLIC_URL = service_env["PUBLIC_URL"]


def competent_outcome() -> tuple[Outcome, Any]:
    learner = UserFactory(username="cred-learner", first_name="Lena", last_name="Nguyen")
    assessor = UserFactory(username="cred-assessor", roles=[Role.ASSESSOR])
    cohort = CohortFactory(assessors=[assessor])
    enrol_learner(learner, cohort)
    unit = assessable_unit(course=cohort.course)["unit"]
    outcome = Outcome.objects.create(
        learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
    )
    return outcome, learner


@pytest.mark.django_db(transaction=True)
def test_competent_to_a_verified_then_revoked_credential_through_the_worker(
    celery_worker: Process, tmp_path: Path
) -> None:
    assert connection.vendor == "postgresql"
    outcome, learner = competent_outcome()
    administrator = UserFactory(username="cred-admin", roles=[Role.ADMINISTRATOR])

    # What assessment does once the outcome commits; the receiver enqueues the Celery task.
    unit_outcome_recorded.send(sender=Outcome, outcome_id=outcome.pk)
    credential = eventually(
        lambda: Credential.objects.filter(outcome=outcome).first(), "the worker to issue"
    )
    assert f"Task {TASK}" in celery_worker.output()
    # The worker renders the certificate in the background too.
    eventually(
        lambda: Credential.objects.filter(pk=credential.pk, certificate__gt="").exists(),
        "the certificate PDF",
    )

    public = Client().get(f"/credentials/{credential.public_id}/").content.decode()
    assert "This credential is valid." in public
    as_learner = Client()
    as_learner.force_login(learner)
    wallet = as_learner.get("/credentials/wallet/").content.decode()
    assert credential.achievement.name in wallet
    baked = tmp_path / "badge.png"
    baked.write_bytes(as_learner.get(f"/credentials/{credential.public_id}/badge.png").content)
    as_json = tmp_path / "credential.json"
    as_json.write_bytes(Client().get(f"/credentials/{credential.public_id}.json").content)

    for artefact in (as_json, baked):
        returncode, output = verify_independently(artefact, tmp_path)
        assert returncode == 0, output
        assert output["revoked"] is False

    as_admin = Client()
    as_admin.force_login(administrator)
    response = as_admin.post(
        f"/credentials/{credential.public_id}/revoke", {"reason": "Assessed the wrong learner"}
    )
    assert response.status_code == 302

    returncode, output = verify_independently(as_json, tmp_path)
    assert returncode == 1
    assert output["revoked"] is True
    page = Client().get(f"/credentials/{credential.public_id}/").content.decode()
    assert "Assessed the wrong learner" in page  # the shared Redis cache was cleared


@pytest.fixture
def isolated_broker(service_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Settings for workers on a Redis database of their own (the run's spare: see
    tests/servers.py), so the session's worker cannot take the task; with a two-second
    visibility timeout swept every second (so redelivery is quick)."""
    url = spare_redis_url(service_env["REDIS_URL"])
    redis.Redis.from_url(url).flushdb()
    yield {
        **service_env,
        "REDIS_URL": url,
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "CELERY_RESTORE_INTERVAL": "1",
    }
    redis.Redis.from_url(url).flushdb()


def send_to(broker_url: str, outcome_id: int) -> None:
    """Enqueue the issuance task on another broker, with the project's own Celery app (a
    second app would become Celery's current one and misroute later tests' tasks)."""
    from config.celery import app

    with app.connection_for_write(broker_url) as connection:
        app.send_task(TASK, args=[outcome_id], connection=connection, queue="default")


def worker(env: dict[str, str], log: Path) -> Process:
    args = ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
    args += [f"--hostname={log.stem}@%h", "--without-gossip", "--without-mingle"]
    process = Process(start(args, env, log), log)
    wait_until(lambda: " ready." in process.output(), process, "a Celery worker")
    return process


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_issue_leaves_exactly_one_credential(
    isolated_broker: dict[str, str], tmp_path: Path
) -> None:
    outcome, _ = competent_outcome()
    first = worker(isolated_broker, tmp_path / "first.log")
    blocker = psycopg.connect(
        isolated_broker["DATABASE_URL"].replace("postgres://", "postgresql://")
    )
    try:
        # Hold the audit trail's lock: the worker stops inside issuance, with the credential
        # written and its transaction open, waiting to audit it. (Not the signing key: issuing
        # reads it without a lock, so issuers on several workers do not take turns there.)
        blocker.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        send_to(isolated_broker["REDIS_URL"], outcome.pk)
        # Waiting on this connection's lock, not on any: pg_locks is the whole server's, where
        # other test databases (another pytest-xdist worker's) wait on locks of their own.
        eventually(
            lambda: blocker.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            ).fetchone()[0],  # type: ignore[index]
            "the worker to block inside issuance",
            timeout=EVENT_WAIT,
        )
        os.kill(first.popen.pid, signal.SIGKILL)
        first.popen.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
    assert not Credential.objects.exists()  # the killed worker's transaction rolled back

    second = worker(isolated_broker, tmp_path / "second.log")
    try:
        eventually(lambda: Credential.objects.exists(), "redelivery to the next worker", 60)
        # A duplicate delivery on top (e.g. a second redelivery) changes nothing.
        send_to(isolated_broker["REDIS_URL"], outcome.pk)
        eventually(
            lambda: (
                second.output().count(f"Task {TASK}") >= 2
                and second.output().count("succeeded") >= 2
            ),
            "the duplicate to run",
        )
    finally:
        stop(second)

    assert Credential.objects.filter(outcome=outcome).count() == 1
    assert AuditEvent.objects.filter(action="credential.issued").count() == 1
