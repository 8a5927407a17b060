"""Issue 14's auditor journey on the demo data, at a laptop's and a phone's size: search, open a
record, download its PDF, export a cohort's records and download the archive, whose manifest
matches every file. axe-core checks every page on the way (tests/e2e/axe.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in, sized
from tests.e2e.test_auditor_records import sha256sum_check
from tests.integration.test_record_export_worker import exports_worker
from tests.servers import Process, stop

# Both sizes share the exports worker (a module fixture): under pytest-xdist (--dist loadgroup)
# they run on one worker, which starts it once.
pytestmark = pytest.mark.xdist_group("journey-auditor")


@pytest.fixture(scope="module")
def exports(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    """One worker on the "exports" queue for both sizes, as production runs it."""
    process = exports_worker(service_env, tmp_path_factory.mktemp("exports") / "journey.log")
    yield process
    stop(process)


@pytest.mark.django_db(transaction=True)
@sized
def test_an_auditor_searches_reads_downloads_and_exports(
    page: Any, journey: Any, demo: str, exports: Process, tmp_path: Path
) -> None:
    walk = journey("auditor")
    sign_in(walk, "auditor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Assessment records")

    # Search by the learner's name; open her skill set record.
    page.get_by_label("Learner").fill("Liam O'Brien")
    walk.visit(page.get_by_role("button", name="Search").click, "search by learner")
    row = page.get_by_role("row").filter(has_text="HLTINF006")
    walk.visit(row.get_by_role("link", name="Liam O'Brien").click, "record")
    expect(page.get_by_role("heading", level=1)).to_contain_text("HLTINF006")
    expect(page.get_by_text("handwash.mp4").first).to_be_visible()

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download the record (PDF)").click()
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF-")

    # Every record of the skill set's cohort, exported as one archive.
    walk.visit(page.get_by_role("link", name="Records").first.click, "records again")
    # The demo cohort is the skill set's only one. (The Cohort list offers no choices until the
    # records form fix is merged; then this can pick "Demo cohort" there.)
    page.get_by_label("Course code").fill("HLTSS00065")
    walk.visit(page.get_by_role("button", name="Search").click, "search by cohort")
    expect(page.get_by_role("row").filter(has_text="Mia Kowalski").first).to_be_visible()
    walk.visit(page.get_by_role("link", name="Export these records").click, "export")
    button = page.get_by_role("button", name=re.compile(r"^Export \d+ records?"))
    records = int(re.search(r"\d+", button.inner_text()).group())  # type: ignore[union-attr]
    assert records >= 4
    walk.visit(button.click, "export running")
    expect(page.get_by_text("The archive is ready.")).to_be_visible(timeout=120_000)
    walk.see("export ready")

    with page.expect_download() as zip_download:
        page.get_by_role("link", name="Download the archive").click()
    archive = tmp_path / "export.zip"
    zip_download.value.save_as(archive)
    rows = sha256sum_check(archive, tmp_path / "unpacked")
    paths = {row["path"] for row in rows}
    assert "audit-events.json" in paths
    assert sum(path.endswith("/record.pdf") for path in paths) == records
    assert any(path.endswith("/handwash.mp4") for path in paths)
    assert hashlib.sha256(archive.read_bytes()).hexdigest()
