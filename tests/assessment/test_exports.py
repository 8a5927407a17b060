"""Bulk exports of records: started from the search filters (even by a read-only auditor, and
only within their grant), built by the job into one zip whose manifest's SHA-256 match every
file, with progress, missing evidence named, failures explained, restarts from scratch, bounded
queries, and downloads only for the requester until the archive expires."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from assessment.evidence.services import add_evidence
from assessment.models import AuditEvent, AuditorGrant, RecordExport
from assessment.records import exports, pdf
from assessment.records.selectors import RecordFilters
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.assessment.conftest import PDF, assess
from tests.assessment.test_records import grant
from tests.factories import CohortFactory, UserFactory, assessable_unit

URL = "/assess/records/exports/"


def start(client: Any, capture: Any, data: dict[str, Any]) -> RecordExport:
    with capture(execute=True):
        response = client.post(URL, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    export = RecordExport.objects.get()
    assert response["Location"] == f"{URL}{export.public_id}/"
    export.refresh_from_db()
    return export


def download(client: Any, export: RecordExport) -> zipfile.ZipFile:
    response = client.get(f"{URL}{export.public_id}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    return zipfile.ZipFile(io.BytesIO(body))


def manifest(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))


def queued(user: Any, made: dict[str, Any], **fields: Any) -> RecordExport:
    """An export of `made`'s record alone, as `start_record_export` leaves it."""
    filters = RecordFilters(learner=str(made["learner"].pk), unit=made["unit"].code)
    return RecordExport.objects.create(
        requested_by=user, total=1, filters=filters.as_json(), **fields
    )


def folder(made: dict[str, Any]) -> str:
    return f"records/{made['learner'].pk}-{made['unit'].code}-{made['cohort'].pk}"


def test_it_exports_the_records_with_a_manifest_that_verifies(
    client_for: Any, auditor: Any, assessed: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(auditor)
    assert f'href="{URL}?' in client.get("/assess/records/").content.decode()
    filters = {"learner": "Nguyen", "unit": assessed["unit"].code}
    form = client.get(URL, filters).content.decode()
    assert "Export 1 record" in form
    assert '<input type="hidden" name="learner" value="Nguyen"' in form

    export = start(client, django_capture_on_commit_callbacks, filters)

    assert export.status == RecordExport.Status.DONE
    assert (export.done, export.total, export.missing_files, export.runs) == (1, 1, 0, 1)
    assert export.expires_at == export.finished_at + timedelta(days=7)
    archive = download(client, export)
    assert archive.testzip() is None
    rows = manifest(archive)
    listed = {row["path"] for row in rows}
    assert set(archive.namelist()) == listed | {"manifest.csv", "manifest.json"}
    for row in rows:  # sha256sum -c
        data = archive.read(row["path"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["path"]
        assert len(data) == int(row["size"])
        assert row["status"] == "ok"
    base = folder(assessed)
    for evidence in assessed["evidence"]:
        path = f"{base}/evidence/1/{evidence.original_name}"
        with evidence.file.open("rb") as original:
            assert archive.read(path) == original.read()
        assert archive.getinfo(path).compress_type == zipfile.ZIP_STORED
    assert archive.getinfo(f"{base}/record.json").compress_type == zipfile.ZIP_DEFLATED
    record = json.loads(archive.read(f"{base}/record.json"))
    assert record["outcome"] == "20"
    assert archive.read(f"{base}/record.pdf").startswith(b"%PDF-")
    as_json = json.loads(archive.read("manifest.json"))
    assert {f["path"] for f in as_json["files"]} == listed
    assert as_json["filters"]["learner"] == "Nguyen"
    events = json.loads(archive.read("audit-events.json"))["events"]
    assert "outcome.recorded" in {e["action"] for e in events}
    assert [e["id"] for e in events] == [e["id"] for e in record["audit"]["events"]]
    requested = AuditEvent.objects.get(action="export.requested")
    assert requested.actor_id == auditor.pk
    assert json.loads(requested.payload)["data"]["total"] == 1
    assert json.loads(requested.payload)["data"]["filters"]["learner"] == "Nguyen"
    assert AuditEvent.objects.filter(action="export.finished").count() == 1


def test_the_page_polls_until_done_and_then_offers_the_archive(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    export = queued(auditor, assessed)
    client = client_for(auditor)
    page = client.get(f"{URL}{export.public_id}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert '<progress id="export-bar" max="1" value="0">' in page

    exports.build_record_export(export.pk)

    fragment = client.get(f"{URL}{export.public_id}/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "<html" not in html
    assert "hx-trigger" not in html  # finished: polling stops
    assert '<progress id="export-bar" max="1" value="1">' in html
    assert "Download the archive" in html
    listing = client.get(URL).content.decode()
    assert f"{URL}{export.public_id}/download" in listing


def test_a_missing_evidence_file_is_marked_counted_and_shown(
    client_for: Any, auditor: Any, assessed: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    gone = assessed["evidence"][0]
    gone.file.storage.delete(gone.file.name)
    client = client_for(auditor)

    export = start(client, django_capture_on_commit_callbacks, {"unit": assessed["unit"].code})

    assert export.status == RecordExport.Status.DONE
    assert export.missing_files == 1
    rows = {row["path"]: row for row in manifest(download(client, export))}
    missing = rows[f"{folder(assessed)}/evidence/1/{gone.original_name}"]
    assert missing["status"] == "missing"
    assert missing["recorded_sha256"] == gone.sha256
    page = client.get(f"{URL}{export.public_id}/").content.decode()
    assert "1 evidence file was missing from storage" in page


def test_a_failure_is_recorded_with_its_reason(
    client_for: Any, auditor: Any, assessed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("the PDF renderer ran out of memory")

    monkeypatch.setattr(pdf, "render_job", broken)  # in this process and the pool's
    export = queued(auditor, assessed)

    assert exports.build_record_export(export.pk) == "failed"

    export.refresh_from_db()
    assert export.status == RecordExport.Status.FAILED
    assert export.error == "the PDF renderer ran out of memory"
    assert not export.archive
    page = client_for(auditor).get(f"{URL}{export.public_id}/").content.decode()
    assert "The export failed." in page
    assert "the PDF renderer ran out of memory" in page
    assert AuditEvent.objects.filter(action="export.failed").count() == 1
    assert exports.build_record_export(export.pk) == "failed"  # not run again


def test_only_the_requester_or_an_administrator_may_download(
    client_for: Any, auditor: Any, administrator: Any, assessed: dict[str, Any]
) -> None:
    export = queued(auditor, assessed)
    exports.build_record_export(export.pk)
    other = UserFactory(username="other-auditor", roles=[Role.AUDITOR])
    url = f"{URL}{export.public_id}/download"

    assert client_for(other).get(url).status_code == 404
    assert client_for(other).get(f"{URL}{export.public_id}/").status_code == 404
    assert client_for(administrator).get(url).status_code == 200
    assert client_for(assessed["learner"]).get(url).status_code == 403


def test_an_expired_archive_is_gone_and_cleaned_up(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    export = queued(auditor, assessed)
    exports.build_record_export(export.pk)
    export.refresh_from_db()
    name = export.archive.name
    assert export.archive.storage.exists(name)
    RecordExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())

    response = client_for(auditor).get(f"{URL}{export.public_id}/download")
    assert response.status_code == 410
    assert "This export has expired" in response.content.decode()

    assert exports.expire_record_exports() == 1
    export.refresh_from_db()
    assert export.status == RecordExport.Status.EXPIRED
    assert not export.archive.storage.exists(name)
    assert client_for(auditor).get(f"{URL}{export.public_id}/download").status_code == 410


def test_the_download_period_is_a_setting(
    auditor: Any, assessed: dict[str, Any], settings: Any
) -> None:
    settings.RECORD_EXPORT_DAYS = 2
    export = queued(auditor, assessed)
    exports.build_record_export(export.pk)
    export.refresh_from_db()
    assert export.expires_at == export.finished_at + timedelta(days=2)


def test_a_read_only_auditor_may_export_only_within_their_grant(
    client_for: Any,
    auditor: Any,
    assessed: dict[str, Any],
    assessor: Any,
    other_cohort: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    outsider = UserFactory(last_name="Outside")
    enrol_learner(outsider, other_cohort)
    outside = assess(outsider, assessor, other_cohort, assessable_unit(course=other_cohort.course))
    grant(auditor, cohorts=[assessed["cohort"]])
    client = client_for(auditor)

    export = start(client, django_capture_on_commit_callbacks, {})

    names = download(client, export).namelist()
    assert any(name.startswith(folder(assessed)) for name in names)
    assert not any(name.startswith(folder(outside)) for name in names)
    assert not any(f"records/{outsider.pk}-" in name for name in names)


def test_once_an_auditors_grants_have_ended_every_export_page_is_refused(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    """An archive built inside a grant is not downloadable after it: the grant, not the
    archive, is what allows the auditor to see those records."""
    made = grant(auditor, cohorts=[assessed["cohort"]])
    export = queued(auditor, assessed)
    exports.build_record_export(export.pk)
    client = client_for(auditor)
    assert client.get(f"{URL}{export.public_id}/download").status_code == 200

    AuditorGrant.objects.filter(pk=made.pk).update(
        starts_at=timezone.now() - timedelta(days=10), ends_at=timezone.now() - timedelta(days=1)
    )
    for url in (
        URL,
        f"{URL}{export.public_id}/",
        f"{URL}{export.public_id}/download",
        "/assess/records/outcomes.csv",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(URL, {}).status_code == 403
    assert RecordExport.objects.count() == 1


def test_evidence_of_the_same_name_is_kept_apart(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    again = add_evidence(
        assessed["attempt"],
        uploaded_by=assessed["learner"],
        name="audit.pdf",
        content=ContentFile(PDF + b"% second\n"),
        require_draft=False,
    )
    export = queued(auditor, assessed)
    exports.build_record_export(export.pk)
    export.refresh_from_db()
    archive = download(client_for(auditor), export)
    base = f"{folder(assessed)}/evidence/1"
    with again.file.open("rb") as original:
        assert archive.read(f"{base}/audit (2).pdf") == original.read()
    assert archive.read(f"{base}/audit.pdf") != archive.read(f"{base}/audit (2).pdf")


def test_a_redelivered_job_starts_again_and_a_running_one_is_left_alone(
    auditor: Any, assessed: dict[str, Any]
) -> None:
    now = timezone.now()
    export = queued(
        auditor,
        assessed,
        status=RecordExport.Status.RUNNING,
        runs=1,
        done=1,
        heartbeat_at=now,
    )
    assert exports.build_record_export(export.pk) == "running"  # its worker is alive
    assert exports.claim_export(export.pk, take_over=True) == 2  # unless the broker says not
    RecordExport.objects.filter(pk=export.pk).update(runs=1)

    RecordExport.objects.filter(pk=export.pk).update(heartbeat_at=now - timedelta(minutes=11))
    assert exports.stale_exports() == [export.pk]
    assert exports.resume_stale_exports() == 1  # eager here: it runs again at once

    export.refresh_from_db()
    assert (export.status, export.runs, export.done) == (RecordExport.Status.DONE, 2, 1)
    assert exports.stale_exports() == []
    assert exports.build_record_export(export.pk) == "done"  # a duplicate delivery: no-op
    assert RecordExport.objects.get(pk=export.pk).runs == 2


def test_a_superseded_run_keeps_nothing(
    auditor: Any, assessed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = queued(auditor, assessed)
    real = exports.write_record

    def taken_over(writer: Any, record: Any, *made: Any) -> None:
        real(writer, record, *made)
        RecordExport.objects.filter(pk=export.pk).update(runs=5)  # another worker claimed it

    monkeypatch.setattr(exports, "write_record", taken_over)
    assert exports.build_record_export(export.pk) == "superseded"
    export.refresh_from_db()
    assert export.status == RecordExport.Status.RUNNING
    assert not export.archive


def make_records(count: int, cohort: Any, unit: Any, assessor: Any) -> None:
    """`count` learners with a record in `unit`, the first two assessed with evidence."""
    from assessment.models import Outcome

    for n in range(count):
        learner = UserFactory(last_name=f"Many{n:03d}")
        enrol_learner(learner, cohort)
        Outcome.objects.create(
            learner=learner, unit=unit, cohort=cohort, code="30", recorded_by=assessor
        )


def test_an_export_takes_a_bounded_number_of_queries(
    auditor: Any, assessor: Any, django_assert_max_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The PDF makes no query; it is replaced here only to keep the test fast.
    monkeypatch.setattr(pdf, "render_job", lambda job, **kwargs: b"%PDF-1.7\n")
    monkeypatch.setattr(exports, "BATCH_SIZE", 50)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 3600.0)
    cohort = CohortFactory(assessors=[assessor])
    made = assessable_unit(course=cohort.course, items=2)
    for learner in (UserFactory(), UserFactory()):
        enrol_learner(learner, cohort)
        assess(learner, assessor, cohort, made)
    filters = RecordFilters(unit=made["unit"].code).as_json()

    make_records(8, cohort, made["unit"], assessor)
    small = RecordExport.objects.create(requested_by=auditor, filters=filters)
    # 35 on SQLite: 29, and per batch one look-up of stored PDFs and, storing those it
    # rendered, an insert and a check in a savepoint (four). The large export must not need more.
    with django_assert_max_num_queries(38) as few:
        exports.build_record_export(small.pk)
    make_records(30, cohort, made["unit"], assessor)
    large = RecordExport.objects.create(requested_by=auditor, filters=filters)
    with django_assert_max_num_queries(len(few.captured_queries)):
        exports.build_record_export(large.pk)

    assert RecordExport.objects.get(pk=small.pk).total == 10
    assert RecordExport.objects.get(pk=large.pk).total == 40


def test_who_may_start_an_export(
    client_for: Any, learner: Any, outsider: Any, administrator: Any
) -> None:
    assert client_for(learner).post(URL, {}).status_code == 403
    assert client_for(outsider).get(URL).status_code == 403
    assert client_for(None).post(URL, {}).status_code == 302  # to sign in
    assert client_for(administrator).put(URL).status_code == 405
    assert client_for(administrator).post(f"{URL}{RecordExport().public_id}/").status_code == 405
    bad = client_for(administrator).post(URL, {"date_from": "not a date"})
    assert bad.status_code == 400
    assert not RecordExport.objects.exists()
