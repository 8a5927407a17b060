"""Stored record PDFs on the real services: each change to a record queues its render through
Redis to a worker, which stores it; an export on a prefork worker (as the README runs the
exports queue: `--concurrency 1`, whose process is a daemon the standard library's pools refuse
to fork from) packs the stored PDFs of records unchanged since, and renders the stale one in
processes of its own."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from assessment.marking import services as marking
from assessment.models import Attempt, RecordExport, RecordPdf
from assessment.records import pdf
from assessment.records.selectors import load_record
from delivery.records import RecordKey
from tests.integration.test_record_export_worker import eventually, media, records, verify
from tests.servers import Process, start, stop, wait_until

__all__ = ["media"]  # the fixture, used below


def prefork_exports_worker(env: dict[str, str], log: Path) -> Process:
    args = ["-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1"]
    args += ["-Q", "exports", f"--hostname={log.stem}@%h", "--without-gossip", "--without-mingle"]
    args += ["--loglevel=INFO"]
    process = Process(start(args, env, log), log)
    wait_until(lambda: " ready." in process.output(), process, "a prefork exports worker")
    return process


@pytest.fixture(autouse=True)
def _no_render_marked_pending(service_env: dict[str, str]) -> None:
    """No "render queued" marker left in Redis by an earlier test whose jobs were purged."""
    import redis

    client = redis.Redis.from_url(service_env["REDIS_URL"])
    for name in client.scan_iter(match="*record-pdf:pending:*"):
        client.delete(name)


def state(key: RecordKey) -> str:
    record = load_record(key)
    return pdf.fingerprint(record, pdf.json_bytes(pdf.record_json(record)))


def fresh(keys: list[RecordKey]) -> bool:
    return all(
        RecordPdf.objects.filter(
            learner_id=k.learner_id, cohort_id=k.cohort_id, unit_id=k.unit_id, fingerprint=state(k)
        ).exists()
        for k in keys
    )


def text_of(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_changes_render_on_a_worker_and_a_prefork_export_packs_or_renders(
    celery_worker: Process, service_env: dict[str, str], tmp_path: Path, settings: Any
) -> None:
    settings.RECORD_PDF_DELAY = 0  # this process queues the renders: at once, for the test
    # The record shows its credential's address: this process names it as the worker does.
    settings.PUBLIC_URL = service_env["PUBLIC_URL"]
    auditor, unit_code = records(3)
    attempts = list(Attempt.objects.filter(task__unit__code=unit_code).order_by("pk"))
    keys = [RecordKey(a.learner_id, a.cohort_id, a.task.unit_id) for a in attempts]
    eventually(lambda: fresh(keys), "the worker to store each record's PDF", timeout=120)
    assert "Task assessment.tasks.render_record_pdf" in celery_worker.output()

    settings.RECORD_PDF_RENDER_ON = []  # a change nobody renders in the background: stale
    stale = attempts[0]
    marking.mark_attempt(
        stale,
        assessor=stale.marked_by,
        judgements=[
            marking.ItemJudgement("q1", "S", "Remarked after the PDF was stored."),
            marking.ItemJudgement("q2", "S", ""),
        ],
        feedback="Well done.",
        declared=True,
        version=stale.version,
    )
    assert not fresh(keys[:1])
    before = {k: bytes(RecordPdf.objects.get(fingerprint=state(k)).file.read()) for k in keys[1:]}

    worker = prefork_exports_worker(service_env, tmp_path / "prefork.log")
    try:
        client = Client()
        client.force_login(auditor)
        assert client.post("/assess/records/exports/", {"unit": unit_code}).status_code == 302
        export = RecordExport.objects.get()
        done = eventually(
            lambda: RecordExport.objects.filter(
                pk=export.pk, status__in=["done", "failed"]
            ).first(),
            "the prefork worker to build the archive",
            timeout=120,
        )
        assert done.status == "done", done.error
        archive = verify(client, done)
    finally:
        stop(worker)
    for key, attempt in zip(keys, attempts, strict=True):
        packed = archive.read(
            f"records/{key.learner_id}-{attempt.task.unit.code}-{key.cohort_id}/record.pdf"
        )
        if key in before:
            assert packed == before[key]  # packed as stored
        else:
            assert "Remarked after the PDF was stored." in text_of(packed)
    assert fresh(keys)  # the export stored what it rendered
