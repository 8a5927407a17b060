"""Stored record PDFs (assessment/records/stored.py): rendered in the background when a record
changes, packed by exports only while they are the record's present state, rendered afresh (in
parallel, and stored) when stale or missing, the same bytes whoever renders them, one per state
however many render at once, gone with purged evidence, and kept private."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from assessment.evidence.retention import Policy, purge
from assessment.marking import services as marking
from assessment.models import Attempt, Outcome, RecordExport, RecordPdf
from assessment.records import exports, pdf, stored
from assessment.records.selectors import RecordFilters, load_record
from delivery.records import RecordKey
from delivery.services import enrol_learner
from tests.assessment.conftest import assess
from tests.assessment.test_records import grant, record_url
from tests.factories import CohortFactory, UserFactory, assessable_unit


def key_of(made: dict[str, Any]) -> RecordKey:
    return RecordKey(made["learner"].pk, made["cohort"].pk, made["unit"].pk)


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def attached_json(data: bytes) -> bytes:
    attachments = PdfReader(io.BytesIO(data)).attachments
    return bytes(attachments[pdf.ATTACHMENT_NAME][0])


def current_state(key: RecordKey) -> str:
    record = load_record(key)
    return pdf.fingerprint(record, pdf.json_bytes(pdf.record_json(record)))


def stored_bytes(row: RecordPdf) -> bytes:
    with row.file.open("rb") as handle:
        return bytes(handle.read())


def export_of(user: Any, made: dict[str, Any]) -> zipfile.ZipFile:
    filters = RecordFilters(learner=str(made["learner"].pk), unit=made["unit"].code)
    export = RecordExport.objects.create(requested_by=user, filters=filters.as_json())
    assert exports.build_record_export(export.pk) == "done"
    export.refresh_from_db()
    with export.archive.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def folder(made: dict[str, Any]) -> str:
    return f"records/{made['learner'].pk}-{made['unit'].code}-{made['cohort'].pk}"


def remark(made: dict[str, Any], comment: str) -> None:
    attempt = Attempt.objects.get(pk=made["attempt"].pk)
    marking.mark_attempt(
        attempt,
        assessor=attempt.marked_by,
        judgements=[
            marking.ItemJudgement("q1", "S", comment),
            marking.ItemJudgement("q2", "S", ""),
        ],
        feedback="Well done.",
        declared=True,
        version=attempt.version,
    )


def test_a_recorded_outcome_renders_and_stores_the_pdf_once_committed(
    written: dict[str, Any],
    learner: Any,
    assessor: Any,
    cohort: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    made = assess(learner, assessor, cohort, written)  # callbacks not run: nothing stored yet
    assert not RecordPdf.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        marking.record_outcome(
            learner, made["unit"], cohort, code="20", recorded_by=assessor, justification="Again."
        )

    row = RecordPdf.objects.get()
    assert (row.learner_id, row.cohort_id, row.unit_id) == tuple(key_of(made))
    assert row.fingerprint == current_state(key_of(made))
    data = stored_bytes(row)
    assert (len(data), hashlib.sha256(data).hexdigest()) == (row.size, row.sha256)
    assert "Justification: Again." in text_of(data)
    assert row.file.name.startswith("record-pdfs/")
    assert stored.refresh_record_pdf(key_of(made)) == "fresh"  # nothing changed since
    assert RecordPdf.objects.count() == 1


def test_judgements_and_evidence_render_only_where_workers_run_the_jobs(
    assessed: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Embedded: the job would run inside the assessor's request, so a judgement renders nothing.
    with django_capture_on_commit_callbacks(execute=True):
        remark(assessed, "Embedded.")
    assert not RecordPdf.objects.exists()

    settings.RECORD_PDF_RENDER_ON = ["outcome", "judgement", "evidence"]  # as with workers
    with django_capture_on_commit_callbacks(execute=True):
        remark(assessed, "With workers.")
    row = RecordPdf.objects.get()
    assert row.fingerprint == current_state(key_of(assessed))
    assert "With workers." in text_of(stored_bytes(row))


def test_a_fresh_stored_pdf_is_packed_as_it_is_and_a_stale_one_never(
    assessed: dict[str, Any], administrator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    key = key_of(assessed)
    assert stored.refresh_record_pdf(key) == "rendered"
    first = RecordPdf.objects.get()
    archive = export_of(administrator, assessed)
    packed = archive.read(f"{folder(assessed)}/record.pdf")
    before = stored_bytes(first)
    assert packed == before  # the stored file, not a new rendering
    assert attached_json(packed) == archive.read(f"{folder(assessed)}/record.json")

    remark(assessed, "Changed after the PDF was stored.")  # the stored PDF is stale now
    assert first.fingerprint != current_state(key)

    with django_capture_on_commit_callbacks(execute=True):  # as outside a test's transaction
        archive = export_of(administrator, assessed)
    packed = archive.read(f"{folder(assessed)}/record.pdf")
    assert packed != before
    assert "Changed after the PDF was stored." in text_of(packed)
    assert attached_json(packed) == archive.read(f"{folder(assessed)}/record.json")
    rows = {r["path"]: r for r in csv_rows(archive)}
    assert rows[f"{folder(assessed)}/record.pdf"]["sha256"] == hashlib.sha256(packed).hexdigest()
    # What the export rendered is stored for the next one; the stale rendering is gone.
    now = RecordPdf.objects.get()
    assert now.fingerprint == current_state(key)
    assert stored_bytes(now) == packed
    assert not default_storage.exists(first.file.name)


def csv_rows(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))


def test_a_damaged_stored_file_is_rendered_again_not_packed(
    assessed: dict[str, Any], administrator: Any
) -> None:
    stored.refresh_record_pdf(key_of(assessed))
    row = RecordPdf.objects.get()
    with default_storage.open(row.file.name, "wb") as handle:
        handle.write(b"%PDF-1.7\nnot what was stored")

    packed = export_of(administrator, assessed).read(f"{folder(assessed)}/record.pdf")

    assert b"not what was stored" not in packed
    assert "Assessment record" in text_of(packed)


def test_the_pdf_is_the_same_bytes_whoever_renders_it(assessed: dict[str, Any]) -> None:
    record = load_record(key_of(assessed))
    job = pdf.prepare_render(record, generated=timezone.now() - timedelta(hours=3))
    here = pdf.render_job(job)
    with stored.PdfRenderer(processes=2) as pool:
        handles = [pool.submit(job) for _ in range(2)]
        there = [handle.get(timeout=120) for handle in handles]
    assert there == [here, here]
    assert pdf.render_job(job) == here  # and again, later


def test_rendering_the_same_state_twice_at_once_stores_one(assessed: dict[str, Any]) -> None:
    """Two jobs for one record that both rendered before either stored (two workers given the
    same change): one row, one file; the loser's file is deleted."""
    record = load_record(key_of(assessed))
    document = pdf.json_bytes(pdf.record_json(record))
    state = pdf.fingerprint(record, document)
    made = [
        stored.Rendered(record.key, state, pdf.render_record_pdf(record, document=document), at)
        for at in (timezone.now(), timezone.now() + timedelta(seconds=1))
    ]
    loaded_at = timezone.now()
    assert stored.store_pdfs(made[:1], loaded_at=loaded_at) == 1
    assert stored.store_pdfs(made[1:], loaded_at=loaded_at) == 0

    row = RecordPdf.objects.get()
    assert stored_bytes(row) == made[0].pdf
    _, files = default_storage.listdir(str(row.file.name).rsplit("/", 1)[0])
    assert sorted(files) == [str(row.file.name).rsplit("/", 1)[1]]
    assert stored.refresh_record_pdf(record.key) == "fresh"


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_for_one_record_store_one_rendering(
    learner: Any, assessor: Any, cohort: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Two threads (two workers) render the same record at the same moment."""
    settings.RECORD_PDF_RENDER_ON = []  # committed here: the outcome would render it first
    enrol_learner(learner, cohort)
    made = assess(learner, assessor, cohort, assessable_unit(course=cohort.course, items=2))
    both = threading.Barrier(2, timeout=60)
    real = pdf.render_job

    def together(job: Any, **kwargs: Any) -> bytes:
        both.wait()  # both have loaded the record and found nothing stored
        return real(job, **kwargs)

    monkeypatch.setattr(pdf, "render_job", together)
    results: list[str] = []

    def job() -> None:
        from django.db import connection

        try:
            results.append(stored.refresh_record_pdf(key_of(made)))
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert results == ["rendered", "rendered"]
    row = RecordPdf.objects.get()
    _, files = default_storage.listdir(str(row.file.name).rsplit("/", 1)[0])
    assert files == [str(row.file.name).rsplit("/", 1)[1]]


def test_purged_evidence_takes_its_records_stored_pdfs_with_it(
    assessed: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    stored.refresh_record_pdf(key_of(assessed))
    name = RecordPdf.objects.get().file.name
    Outcome.objects.filter(pk=assessed["outcome"].pk).update(
        recorded_at=timezone.now() - timedelta(days=31 * 25)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert purge(assessed["evidence"][1], policy=Policy(evidence_months=24), actor=None)

    assert not RecordPdf.objects.exists()
    assert not default_storage.exists(name)


def test_the_download_uses_the_stored_pdf_while_it_is_fresh(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    grant(auditor, cohorts=[assessed["cohort"]])
    stored.refresh_record_pdf(key_of(assessed))
    row = RecordPdf.objects.get()
    url = record_url(assessed) + "record.pdf"
    client = client_for(auditor)

    first = client.get(url)
    assert first.status_code == 200
    assert first.content == stored_bytes(row)
    # That download is an auditor's opening, which the record (and its PDF) counts: stale now.
    second = client.get(url)
    assert second.content != stored_bytes(row)
    assert "opened this record or its files 1 time" in text_of(second.content)
    # Stored PDFs are not reachable by any URL of their own.
    assert client.get(f"/media/{row.file.name}").status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_an_export_of_many_stored_records_takes_a_bounded_number_of_queries(
    auditor: Any,
    assessor: Any,
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not what is in the PDFs but how many queries finding and storing them takes.
    monkeypatch.setattr(pdf, "render_job", lambda job, **kw: b"%PDF-1.7\n" + job.document[:64])
    monkeypatch.setattr(exports, "BATCH_SIZE", 100)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 3600.0)
    cohort = CohortFactory(assessors=[assessor])
    made = assessable_unit(course=cohort.course, items=2)
    for learner in (UserFactory(), UserFactory()):
        enrol_learner(learner, cohort)
        assess(learner, assessor, cohort, made)
    filters = RecordFilters(unit=made["unit"].code).as_json()

    def records(count: int) -> list[RecordKey]:
        for n in range(count):
            learner = UserFactory(last_name=f"Many{n:03d}")
            enrol_learner(learner, cohort)
            Outcome.objects.create(
                learner=learner, unit=made["unit"], cohort=cohort, code="30", recorded_by=assessor
            )
        return [
            RecordKey(e.learner_id, cohort.pk, made["unit"].pk)
            for e in cohort.enrolments.all()  # type: ignore[attr-defined]
        ]

    stored.render_missing(records(8))  # rendered in the background, as deployed
    small = RecordExport.objects.create(requested_by=auditor, filters=filters)
    with django_assert_max_num_queries(34) as few:
        exports.build_record_export(small.pk)
    assert RecordPdf.objects.count() == 10

    stored.render_missing(records(80))
    large = RecordExport.objects.create(requested_by=auditor, filters=filters)
    with django_assert_max_num_queries(len(few.captured_queries)):
        exports.build_record_export(large.pk)
    assert RecordExport.objects.get(pk=large.pk).total == 90
    assert RecordPdf.objects.count() == 90

    remark_all = Outcome.objects.filter(cohort=cohort).update(justification="Corrected.")
    assert remark_all == 90  # every stored PDF is stale now: all 90 rendered in the export
    cold = RecordExport.objects.create(requested_by=auditor, filters=filters)
    with django_assert_max_num_queries(len(few.captured_queries) + 6):
        exports.build_record_export(cold.pk)
    assert RecordPdf.objects.count() == 90
    assert (
        RecordPdf.objects.filter(fingerprint__in=[current_state(k) for k in records(0)]).count()
        == 90
    )


def test_the_backfill_command_renders_only_what_is_not_stored(assessed: dict[str, Any]) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("render_record_pdfs", stdout=out)
    records = RecordPdf.objects.count()  # each unit of the learner's course is a record
    assert records >= 1
    assert f"{records} records, " in out.getvalue()
    assert f"Rendered and stored {records}; 0 were already stored." in out.getvalue()
    key = key_of(assessed)
    assert RecordPdf.objects.get(unit_id=key.unit_id).fingerprint == current_state(key)

    out = io.StringIO()
    call_command("render_record_pdfs", "--cohort", str(assessed["cohort"].pk), stdout=out)
    assert f"Rendered and stored 0; {records} were already stored." in out.getvalue()
