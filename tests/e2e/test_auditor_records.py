"""Issue 7's "done when", in a real browser: an auditor finds a learner's record by name, opens
it, downloads its PDF, runs a bulk export whose progress bar reaches done (the job runs on a
real worker consuming the "exports" queue), downloads the archive, and every SHA-256 in its
manifest matches its file (checked by `sha256sum -c` itself, and again here)."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import expect

from assessment.models import RecordExport
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.assessment.conftest import assess
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory, assessable_unit
from tests.integration.test_record_export_worker import exports_worker
from tests.servers import Process, stop


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    # The server and the worker store files there; this process writes the evidence.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


@pytest.fixture
def start_worker(service_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Process]]:
    """Starts the exports worker when the test says so; stops it at the end."""
    started: list[Process] = []

    def start() -> Process:
        started.append(exports_worker(service_env, tmp_path / "exports-worker.log"))
        return started[-1]

    yield start
    for process in started:
        stop(process)


def outside_the_event_loop(work: Callable[[], Any]) -> Any:
    """Run `work` in a thread of its own: the services it calls push notifications through
    `async_to_sync`, which refuses the thread where Playwright's event loop runs."""

    def run() -> Any:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def sha256sum_check(archive: Path, folder: Path) -> list[dict[str, str]]:
    """Unpack the archive, write the manifest as a SHA256SUMS file and run `sha256sum -c`."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sums = "".join(f"{row['sha256']}  {row['path']}\n" for row in rows)
    (folder / "SHA256SUMS").write_text(sums, encoding="utf-8")
    if shutil.which("sha256sum"):
        done = subprocess.run(
            ["sha256sum", "-c", "--strict", "SHA256SUMS"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": OK") == len(rows)
    for row in rows:  # and the same without the tool
        assert hashlib.sha256((folder / row["path"]).read_bytes()).hexdigest() == row["sha256"]
    return rows


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_an_auditor_finds_downloads_and_exports_records(
    page: Any, start_worker: Callable[[], Process], tmp_path: Path
) -> None:
    assessor = UserFactory(username="e2e-rec-assessor", first_name="Asha", roles=[Role.ASSESSOR])
    cohort = CohortFactory(name="Audit cohort", assessors=[assessor])
    learner = UserFactory(username="e2e-rec-learner", first_name="Lena", last_name="Nguyen")
    enrol_learner(learner, cohort)
    made = outside_the_event_loop(
        lambda: assess(learner, assessor, cohort, assessable_unit(course=cohort.course, items=2))
    )
    unit = made["unit"]
    auditor = UserFactory(username="e2e-auditor", first_name="Audrey", roles=[Role.AUDITOR])

    sign_in(page, auditor.username, PASSWORD)
    page.goto("/assess/records/")
    page.get_by_label("Learner").fill("Lena Nguyen")
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row").filter(has_text=unit.code)
    row.get_by_role("link", name="Lena Nguyen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(unit.code)
    expect(page.get_by_text(made["evidence"][0].sha256)).to_be_visible()

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download the record (PDF)").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")

    page.go_back()
    page.get_by_role("link", name="Records").first.click()
    page.get_by_label("Learner").fill("Lena Nguyen")
    page.get_by_role("button", name="Search").click()
    records = page.get_by_role("row").filter(has_text="Lena Nguyen").count()
    page.get_by_role("link", name="Export these records").click()
    page.get_by_role("button", name=f"Export {records} record").click()

    # No worker yet: the page waits, polling. Once one starts, the progress bar (refreshed by
    # htmx every 2 s) reaches the total without a reload, and the download link shows.
    expect(page.get_by_text("Waiting for a worker")).to_be_visible()
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    bar = page.locator("#export-bar")
    expect(bar).to_have_attribute("max", str(records))
    expect(bar).to_have_attribute("value", "0")
    start_worker()
    expect(bar).to_have_attribute("value", str(records), timeout=90_000)
    expect(page.get_by_text("The archive is ready.")).to_be_visible()
    assert polls
    export = RecordExport.objects.get()
    assert (export.status, export.done, export.total) == ("done", records, records)

    with page.expect_download() as zip_download:
        page.get_by_role("link", name="Download the archive").click()
    archive = tmp_path / "export.zip"
    zip_download.value.save_as(archive)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == export.sha256

    rows = sha256sum_check(archive, tmp_path / "unpacked")
    folder = f"records/{learner.pk}-{unit.code}-{cohort.pk}"
    paths = {row["path"] for row in rows}
    assert {f"{folder}/record.pdf", f"{folder}/record.json", "audit-events.json"} <= paths
    for evidence in made["evidence"]:
        assert f"{folder}/evidence/1/{evidence.original_name}" in paths
