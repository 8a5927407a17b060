"""Bulk exports on the real services: the job goes through Redis to a Celery worker that
consumes only the "exports" queue, its progress reaches the total, the archive downloads and its
manifest verifies. And a worker killed (SIGKILL) in the middle of an export: Redis hands the
unacknowledged job to the next worker, which starts the archive again and finishes it."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import signal
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from assessment.models import RecordExport
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.assessment.conftest import assess
from tests.factories import CohortFactory, UserFactory, assessable_unit
from tests.servers import Process, start, stop, wait_until

TASK = "assessment.tasks.build_record_export"


def eventually(check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def exports_worker(env: dict[str, str], log: Path) -> Process:
    """A worker consuming the "exports" queue alone, as production runs it."""
    args = ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
    args += ["-Q", "exports", f"--hostname={log.stem}@%h", "--without-gossip", "--without-mingle"]
    process = Process(start(args, env, log), log)
    wait_until(lambda: " ready." in process.output(), process, "an exports worker")
    return process


@pytest.fixture(autouse=True)
def _empty_exports_queue(service_env: dict[str, str]) -> None:
    """No export job left in Redis by an earlier, interrupted run. (Through redis-py: a second
    Celery app would become Celery's current app and misroute later tests' tasks.)"""
    import redis

    redis.Redis.from_url(service_env["REDIS_URL"]).delete("exports")


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    """This process stores the evidence where the worker reads it, and reads its archive."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


@pytest.fixture
def quick_redelivery(service_env: dict[str, str]) -> dict[str, str]:
    """Workers whose unacknowledged tasks return to the queue after two seconds."""
    return {**service_env, "CELERY_VISIBILITY_TIMEOUT": "2", "CELERY_RESTORE_INTERVAL": "1"}


def records(count: int) -> tuple[Any, str]:
    """An auditor, and the unit code of `count` assessed records with two evidence files each."""
    assessor = UserFactory(username=f"exp-assessor-{count}", roles=[Role.ASSESSOR])
    cohort = CohortFactory(assessors=[assessor])
    made = assessable_unit(course=cohort.course, items=2)
    for n in range(count):
        learner = UserFactory(username=f"exp-learner-{count}-{n}", last_name=f"Export{n}")
        enrol_learner(learner, cohort)
        assess(learner, assessor, cohort, made)
    auditor = UserFactory(username=f"exp-auditor-{count}", roles=[Role.AUDITOR])
    return auditor, made["unit"].code


def verify(client: Client, export: RecordExport) -> zipfile.ZipFile:
    response = client.get(f"/assess/records/exports/{export.public_id}/download")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert rows
    for row in rows:
        assert row["status"] == "ok", row
        assert hashlib.sha256(archive.read(row["path"])).hexdigest() == row["sha256"]
    return archive


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_an_export_runs_on_the_exports_queue(service_env: dict[str, str], tmp_path: Path) -> None:
    assert connection.vendor == "postgresql"
    auditor, unit_code = records(3)
    worker = exports_worker(service_env, tmp_path / "exports.log")
    try:
        client = Client()
        client.force_login(auditor)
        response = client.post("/assess/records/exports/", {"unit": unit_code})
        assert response.status_code == 302
        export = RecordExport.objects.get()
        assert export.total == 3

        done = eventually(
            lambda: RecordExport.objects.filter(pk=export.pk, status="done").first(),
            "the exports worker to build the archive",
        )
        assert (done.done, done.total, done.missing_files) == (3, 3, 0)
        assert f"Task {TASK}" in worker.output()
        page = client.get(f"/assess/records/exports/{export.public_id}/").content.decode()
        assert 'value="3"' in page
        assert "Download the archive" in page
        archive = verify(client, done)
        assert sum(name.endswith("/record.pdf") for name in archive.namelist()) == 3
    finally:
        stop(worker)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_an_export_whose_worker_is_killed_is_built_again_by_the_next(
    quick_redelivery: dict[str, str], tmp_path: Path
) -> None:
    auditor, unit_code = records(6)
    client = Client()
    client.force_login(auditor)
    first = exports_worker(quick_redelivery, tmp_path / "first.log")
    second: Process | None = None
    try:
        assert client.post("/assess/records/exports/", {"unit": unit_code}).status_code == 302
        export = RecordExport.objects.get()
        eventually(
            lambda: RecordExport.objects.filter(pk=export.pk, status="running").exists(),
            "the first worker to start",
        )
        os.kill(first.popen.pid, signal.SIGKILL)  # no chance to acknowledge or clean up
        first.popen.wait(timeout=10)
        assert RecordExport.objects.get(pk=export.pk).status == "running"

        second = exports_worker(quick_redelivery, tmp_path / "second.log")
        done = eventually(
            lambda: RecordExport.objects.filter(pk=export.pk, status="done").first(),
            "the second worker to build the archive again",
        )
        assert done.runs == 2
        assert (done.done, done.total) == (6, 6)
        verify(client, done)
    finally:
        for process in (first, second):
            if process is not None and process.popen.poll() is None:
                stop(process)
