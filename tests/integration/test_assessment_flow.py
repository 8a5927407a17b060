"""Issue 4's flow against PostgreSQL, Redis and a real Celery worker: the marking e-mails go
through the broker to the worker process; the audit trail verifies on PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from assessment.audit.services import verify_chain
from assessment.models import Attempt, Evidence, Outcome
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.factories import CohortFactory, UserFactory, assessable_unit
from tests.helpers import EVENT_WAIT
from tests.servers import Process

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 1024 * 1024


@pytest.fixture
def storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.EVIDENCE_STAGING_DIR = tmp_path / "media" / "uploads-partial"


def upload(client: Client, attempt: Attempt, data: bytes, name: str) -> None:
    """tus: create, send part, lose the connection, ask the offset, send the rest."""
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    created = client.post(
        f"/assess/uploads/attempts/{attempt.pk}/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
    )
    assert created.status_code == 201, created.content
    url = created["Location"]
    offset = 0
    for chunk_end in (CHUNK, 2 * CHUNK):
        sent = client.generic(
            "PATCH", url, data[offset:chunk_end], content_type="application/offset+octet-stream",
            headers={**TUS, "Upload-Offset": str(offset)},
        )  # fmt: skip
        assert sent.status_code == 204, sent.content
        offset = chunk_end
    head = client.head(url, headers=TUS)  # a new connection asks where to carry on
    offset = int(head["Upload-Offset"])
    assert offset == 2 * CHUNK
    done = client.generic(
        "PATCH", url, data[offset:], content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": str(offset)},
    )  # fmt: skip
    assert done.status_code == 204, done.content


def submit(client: Client, attempt: Attempt, answers: dict[str, str]) -> None:
    data = {f"answer-{k}": v for k, v in answers.items()} | {"declared": "on"}
    assert client.post(f"/assess/attempts/{attempt.pk}/submit", data).status_code == 302


def mark(client: Client, attempt: Attempt, results: dict[str, str]) -> None:
    attempt.refresh_from_db()
    client.post(f"/assess/attempts/{attempt.pk}/claim")  # "Start marking"
    data: dict[str, Any] = {"version": attempt.version, "declared": "on", "feedback": "Noted."}
    for key, result in results.items():
        data[f"result-{key}"] = result
        data[f"comment-{key}"] = "" if result == "S" else "Name all five moments."
    response = client.post(f"/assess/attempts/{attempt.pk}/mark/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]


def wait_for(worker: Process, text: str, timeout: float = EVENT_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.output():
        if time.monotonic() > deadline:
            pytest.fail(f"the worker never showed {text!r}:\n{worker.output()[-3000:]}")
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("storage")
def test_the_assessment_flow_on_the_real_services(celery_worker: Process) -> None:
    assert connection.vendor == "postgresql"
    learner = UserFactory(username="flow-learner", first_name="Lena", email="lena@example.test")
    assessor = UserFactory(username="flow-assessor", first_name="Asha", roles=[Role.ASSESSOR])
    cohort = CohortFactory(assessors=[assessor])
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=2)
    task, unit = made["task"], made["unit"]
    as_learner, as_assessor = Client(), Client()
    as_learner.force_login(learner)
    as_assessor.force_login(assessor)

    assert as_learner.post(f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/").status_code == 302
    first = Attempt.objects.get()
    data = b"%PDF-1.4\n" + os.urandom(3 * CHUNK)
    upload(as_learner, first, data, "audit.pdf")
    evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    submit(as_learner, first, {"q1": "Before touching a patient.", "q2": "Gloves."})

    mark(as_assessor, first, {"q1": "NS", "q2": "S"})
    wait_for(celery_worker, f"Subject: {task.title}: Not satisfactory")

    assert as_learner.post(f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/").status_code == 302
    second = Attempt.objects.get(number=2)
    submit(as_learner, second, {"q1": "All five moments."})
    mark(as_assessor, second, {"q1": "S", "q2": "S"})
    wait_for(celery_worker, f"Subject: {task.title}: Satisfactory")

    response = as_assessor.post(
        f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/units/{unit.pk}/outcome/",
        {"code": "20"},
    )
    assert response.status_code == 302
    assert Outcome.objects.get().code == "20"
    check = verify_chain()
    assert check.ok, check
    assert check.checked >= 8
    # Competent set the worker issuing a credential; the test ends when it has, or the next
    # test's database flush would race it (on a busy machine: a deadlock, rows left over).
    wait_until_idle(celery_worker)


def wait_until_idle(worker: Process) -> None:
    """Every task sent has been taken from the queue and has finished in the worker."""
    import redis
    from django.conf import settings

    queue = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + EVENT_WAIT
    while True:
        out = worker.output()
        finished = sum(out.count(f"] {word}") for word in ("succeeded", "raised", "retry"))
        if not queue.llen("default") and out.count("] received") <= finished:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the worker never finished its tasks:\n{out[-3000:]}")
        time.sleep(0.2)
