"""The auditor's records: search with every filter, the record page with everything in it,
fixed query counts, grants that scope and expire, read-only auditors, and every page and file an
auditor opens written to the audit trail."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from assessment.models import Attempt, AuditEvent, AuditorGrant, Outcome
from delivery.services import enrol_learner
from tests.assessment.conftest import assess
from tests.factories import CohortFactory, CourseFactory, UserFactory, assessable_unit

URL = "/assess/records/"


def record_url(made: dict[str, Any]) -> str:
    return f"{URL}{made['cohort'].pk}/{made['learner'].pk}/{made['unit'].pk}/"


def rows(html: str) -> int:
    return html.count('<th scope="row">')


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"learner": "Nguyen"},
        {"learner": "lena@"},
        {"learner": "lena nguyen"},
        {"outcome": "20"},
        {"assessor": "Asha"},
    ],
)
def test_it_finds_the_record_by(
    client_for: Any, auditor: Any, assessed: dict[str, Any], query: dict[str, str]
) -> None:
    html = client_for(auditor).get(URL, query).content.decode()
    assert assessed["unit"].code in html
    assert record_url(assessed) in html


def test_it_finds_by_learner_id_unit_course_cohort_and_dates(
    client_for: Any, auditor: Any, assessed: dict[str, Any], learner: Any
) -> None:
    client = client_for(auditor)
    today = timezone.localdate()
    for query in [
        {"learner": str(learner.pk)},
        {"unit": assessed["unit"].code.lower()},
        {"course": assessed["cohort"].course.code},
        {"cohort": assessed["cohort"].pk},
        {"date_from": today.isoformat(), "date_to": today.isoformat()},
    ]:
        assert record_url(assessed) in client.get(URL, query).content.decode(), query
    for query in [
        {"outcome": "30"},
        {"outcome": "none", "unit": assessed["unit"].code},
        {"date_to": (today - timedelta(days=3)).isoformat()},
        {"assessor": "nobody-at-all"},
    ]:
        assert record_url(assessed) not in client.get(URL, query).content.decode(), query


def test_bad_filters_are_explained_and_list_everything_else(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    response = client_for(auditor).get(URL, {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()
    bad_date = client_for(auditor).get(URL, {"date_from": "yesterday"})
    assert "Enter a valid date." in bad_date.content.decode()


def test_it_sorts_and_pages(client_for: Any, auditor: Any, assessor: Any) -> None:
    cohort = CohortFactory(name="Big cohort", assessors=[assessor])
    made = assessable_unit(course=cohort.course)
    for n in range(60):
        enrol_learner(UserFactory(last_name=f"Zed{n:02d}"), cohort)
    client = client_for(auditor)
    # The course has the factory's unit plus this one: 2 records per learner.
    first = client.get(URL, {"cohort": cohort.pk, "unit": made["unit"].code}).content.decode()
    assert "60 records." in first
    assert "Page 1 of 2" in first
    assert rows(first) == 50
    assert first.index("Zed00") < first.index("Zed01")
    backwards = client.get(
        URL, {"cohort": cohort.pk, "unit": made["unit"].code, "descending": "on"}
    ).content.decode()
    assert backwards.index("Zed59") < backwards.index("Zed58")
    second = client.get(
        URL, {"cohort": cohort.pk, "unit": made["unit"].code, "page": 2}
    ).content.decode()
    assert rows(second) == 10


def test_search_takes_a_fixed_number_of_queries(
    client_for: Any, auditor: Any, assessor: Any, django_assert_max_num_queries: Any
) -> None:
    unit = assessable_unit()["unit"]
    for _ in range(8):
        cohort = CohortFactory(course=CourseFactory(units=[unit]), assessors=[assessor])
        for _ in range(25):
            learner = UserFactory()
            enrol_learner(learner, cohort)
            Outcome.objects.create(
                learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
            )
    client = client_for(auditor)
    with django_assert_max_num_queries(14):
        response = client.get(URL, {"unit": unit.code, "assessor": "a", "outcome": "20"})
    assert b"200 records." in response.content


def test_an_assessor_or_learner_cannot_search(client_for: Any, assessor: Any, learner: Any) -> None:
    assert client_for(assessor).get(URL).status_code == 403
    assert client_for(learner).get(URL).status_code == 403


# --- the record page --------------------------------------------------------------------------


def test_the_record_shows_everything_an_auditor_needs(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    html = client_for(auditor).get(record_url(assessed)).content.decode()

    attempt = assessed["attempt"]
    attempt.refresh_from_db()
    for text in [
        "Enrolment",
        "Wash hands first.",  # the answer as submitted
        attempt.declaration[:40],  # the learner's declaration
        attempt.assessor_declaration[:40],  # the assessor's
        "Clear.",  # a judgement's comment
        "Competent",
        "audit.pdf",
        assessed["evidence"][0].sha256,
        "task version 1",
        "Mapping to the unit",
        "are intact and link to the events before them",
        "Outcome recorded",
    ]:
        assert text in html, text


def test_the_record_shows_answers_as_submitted_not_as_edited_later(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    Attempt.objects.filter(pk=assessed["attempt"].pk).first().answers.update(text="Rewritten")
    html = client_for(auditor).get(record_url(assessed)).content.decode()
    assert "Wash hands first." in html
    assert "Rewritten" not in html


def test_the_record_names_a_broken_link_in_its_audit_trail(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    from tests.assessment.test_audit import tamper

    event = AuditEvent.objects.filter(action="outcome.recorded").get()
    tamper(
        "UPDATE assessment_auditevent SET payload = %s WHERE id = %s",
        [event.payload.replace('"20"', '"30"'), event.pk],
    )

    html = client_for(auditor).get(record_url(assessed)).content.decode()

    assert f"The audit trail is broken at event #{event.pk}" in html
    assert "its payload or hash was altered" in html


def test_the_record_page_takes_a_fixed_number_of_queries(
    client_for: Any, auditor: Any, assessed: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    from assessment.models import Answer, Judgement

    client = client_for(auditor)
    with django_assert_max_num_queries(30) as few:
        client.get(record_url(assessed))
    task, items = assessed["task"], list(assessed["task"].items.all())
    for number in range(2, 12):  # ten more attempts, each with answers and judgements
        attempt = Attempt.objects.create(
            task=task,
            learner=assessed["learner"],
            cohort=assessed["cohort"],
            number=number,
            status=Attempt.Status.MARKED,
        )
        for item in items:
            Answer.objects.create(attempt=attempt, item=item, text=f"Answer {number}")
            Judgement.objects.create(attempt=attempt, item=item, result="NS", comment="More.")

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(record_url(assessed)).content.decode()
    assert "Attempt 11" in html


def test_a_record_that_does_not_exist_is_404(
    client_for: Any, auditor: Any, assessed: dict[str, Any], other_cohort: Any
) -> None:
    url = f"{URL}{other_cohort.pk}/{assessed['learner'].pk}/{assessed['unit'].pk}/"
    assert client_for(auditor).get(url).status_code == 404


# --- grants -------------------------------------------------------------------------------------


def grant(auditor: Any, *, cohorts: list[Any] = (), courses: list[Any] = (), days: int = 7) -> Any:  # type: ignore[assignment]
    made = AuditorGrant.objects.create(
        auditor=auditor,
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=days),
        reason="ASQA audit",
    )
    made.cohorts.set(cohorts)
    made.courses.set(courses)
    return made


def test_a_grant_limits_the_records_an_auditor_sees(
    client_for: Any, auditor: Any, assessed: dict[str, Any], assessor: Any, other_cohort: Any
) -> None:
    other_learner = UserFactory(last_name="Outside")
    enrol_learner(other_learner, other_cohort)
    outside = assess(
        other_learner, assessor, other_cohort, assessable_unit(course=other_cohort.course)
    )
    grant(auditor, cohorts=[assessed["cohort"]])
    client = client_for(auditor)

    listing = client.get(URL).content.decode()
    assert record_url(assessed) in listing
    assert "Outside" not in listing
    # The grant's end ends a sentence with "a.m." or "p.m.": one full stop, not two.
    assert re.search(r"until \d{1,2}:\d\d [ap]\.m\. on \d{1,2} \w+ \d{4}\.</p>", listing)
    assert "m.." not in listing
    assert client.get(record_url(assessed)).status_code == 200
    assert client.get(record_url(outside)).status_code == 404
    evidence = outside["evidence"][0]
    assert client.get(f"/assess/evidence/{evidence.pk}/").status_code == 404
    assert client.get(f"/assess/evidence/{assessed['evidence'][0].pk}/").status_code == 200


def test_a_grant_by_course_covers_its_cohorts(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    grant(auditor, courses=[assessed["cohort"].course])
    assert client_for(auditor).get(record_url(assessed)).status_code == 200


def test_an_expired_grant_is_refused(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    made = grant(auditor, cohorts=[assessed["cohort"]])
    AuditorGrant.objects.filter(pk=made.pk).update(
        starts_at=timezone.now() - timedelta(days=10), ends_at=timezone.now() - timedelta(days=1)
    )
    client = client_for(auditor)
    assert client.get(URL).status_code == 403
    assert client.get(record_url(assessed)).status_code == 403
    assert client.get(f"/assess/evidence/{assessed['evidence'][0].pk}/").status_code == 404


# --- auditors change nothing, and are watched -------------------------------------------------


def test_an_auditor_posting_to_mutating_urls_is_refused_and_nothing_changes(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    attempt, cohort, unit = assessed["attempt"], assessed["cohort"], assessed["unit"]
    learner = assessed["learner"]
    before = (Outcome.objects.count(), Attempt.objects.get(pk=attempt.pk).version)
    client = client_for(auditor)
    for url, data in [
        (f"/assess/attempts/{attempt.pk}/mark/", {"version": attempt.version, "declared": "on"}),
        (
            f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/units/{unit.pk}/outcome/",
            {"code": "30", "justification": "x"},
        ),
        (f"/assess/evidence/{assessed['evidence'][0].pk}/withdraw", {}),
        (f"/assess/attempts/{attempt.pk}/submit", {}),
        (URL, {}),
        ("/learn/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert (Outcome.objects.count(), Attempt.objects.get(pk=attempt.pk).version) == before


def test_every_page_and_file_an_auditor_opens_is_audited(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    client = client_for(auditor)
    client.get(URL, {"learner": "Nguyen"})
    client.get(record_url(assessed))
    client.get(f"/assess/evidence/{assessed['evidence'][0].pk}/")

    opened = list(AuditEvent.objects.filter(action="auditor.opened").order_by("id"))
    paths = [json.loads(event.payload)["data"]["path"] for event in opened]
    assert paths == [
        f"{URL}?learner=Nguyen",
        record_url(assessed),
        f"/assess/evidence/{assessed['evidence'][0].pk}/",
    ]
    assert all(event.actor_id == auditor.pk for event in opened)
    assert opened[1].learner_id == assessed["learner"].pk
    assert opened[1].unit_id == assessed["unit"].pk
    # ... and the record counts the openings (listing each would grow without end).
    html = client.get(record_url(assessed)).content.decode()
    assert "Auditors have opened this record or its files 2 times" in html


def test_other_roles_are_not_logged_as_auditors(
    client_for: Any, administrator: Any, assessed: dict[str, Any]
) -> None:
    client_for(administrator).get(record_url(assessed))
    assert not AuditEvent.objects.filter(action="auditor.opened").exists()


# --- outcomes CSV ---------------------------------------------------------------------------


def test_the_outcomes_csv_has_one_row_per_learner_per_unit_with_national_codes(
    client_for: Any, auditor: Any, assessed: dict[str, Any], learner: Any
) -> None:
    response = client_for(auditor).get(f"{URL}outcomes.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("learner_id,family_name,given_names,email,unit_code")
    assert len(lines) == 2  # the header and the one record with an outcome
    fields = lines[1].split(",")
    today = timezone.localdate().isoformat()
    assert fields[0] == str(learner.pk)
    assert fields[4] == assessed["unit"].code
    assert fields[8:12] == ["20", "Competent", today, today]


def test_the_record_shows_the_credential_and_its_status(
    client_for: Any, auditor: Any, assessed: dict[str, Any], administrator: Any
) -> None:
    from credentials.models import Credential
    from credentials.services import issue_unit_credential, revoke_credential

    credential = issue_unit_credential(assessed["outcome"].pk)
    assert isinstance(credential, Credential)
    revoke_credential(credential, by=administrator, reason="Wrong learner")

    html = client_for(auditor).get(record_url(assessed)).content.decode()

    assert str(credential.public_id) in html
    assert "Revoked" in html
    assert "Wrong learner" in html


def test_a_progress_bar_polling_is_not_logged_as_an_opening(client_for: Any, auditor: Any) -> None:
    from assessment.models import RecordExport

    export = RecordExport.objects.create(requested_by=auditor, filters={})
    client = client_for(auditor)
    url = f"{URL}exports/{export.public_id}/"

    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    assert not AuditEvent.objects.filter(action="auditor.opened").exists()
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="auditor.opened").count() == 1


def test_the_record_shows_attendance_at_the_cohorts_live_sessions(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    from live.models import Attendance
    from tests.live.factories import LiveSessionFactory

    cohort, learner = assessed["cohort"], assessed["learner"]
    attended = LiveSessionFactory(cohort=cohort, title="Hand hygiene Q&A")
    LiveSessionFactory(cohort=cohort, title="Missed tutorial")
    LiveSessionFactory(title="Another cohort's session")
    Attendance.objects.create(
        session=attended,
        user=learner,
        first_joined_at=attended.starts_at,
        seconds=42 * 60,
        late=True,
    )

    html = client_for(auditor).get(record_url(assessed)).content.decode()

    section = html.split("Attendance at live sessions")[1].split("</table>")[0]
    assert "Hand hygiene Q&amp;A" in section
    assert "Yes, late" in section
    assert "<td>42</td>" in section
    assert "Missed tutorial" in section
    assert "Another cohort" not in section


def test_the_record_names_an_event_deleted_from_before_its_own(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    from tests.assessment.test_audit import tamper

    outcome_event = AuditEvent.objects.get(action="outcome.recorded")
    before = AuditEvent.objects.filter(id__lt=outcome_event.pk).order_by("-id").first()
    assert before is not None
    tamper("DELETE FROM assessment_auditevent WHERE id = %s", [before.pk])

    html = client_for(auditor).get(record_url(assessed)).content.decode()

    assert "The audit trail is broken at event #" in html
    assert "an event was removed or rewritten" in html


# --- words, not codes (issue 14, defect 6) ----------------------------------------------------


@pytest.fixture
def quizzed(learner: Any, assessor: Any, cohort: Any) -> dict[str, Any]:
    """A quiz with a multiple-choice question keyed `cut-and-cough`, answered with options 0 and 2,
    marked automatically and by the assessor, and Competent."""
    from assessment import services
    from tests.factories import ItemFactory, TaskFactory

    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=2)
    assess(learner, assessor, cohort, made, files=False)
    quiz = TaskFactory(unit=made["unit"], kind="quiz", title="Cough etiquette quiz", position=2)
    ItemFactory(
        task=quiz,
        key="cut-and-cough",
        kind="multiple_choice",
        prompt="Which steps stop a cough spreading?",
        choices=["Cover with a tissue", "Cough into the air", "Cough into your elbow"],
        correct=[0, 2],
    )
    draft = services.start_attempt(learner, quiz, cohort)
    services.save_answers(draft, learner=learner, answers={"cut-and-cough": ["0", "2"]})
    services.submit_attempt(draft, learner=learner, declared=True)
    return {**made, "cohort": cohort, "learner": learner, "quiz": quiz}


def test_the_record_shows_questions_and_chosen_options_in_words(
    client_for: Any, auditor: Any, quizzed: dict[str, Any]
) -> None:
    html = client_for(auditor).get(record_url(quizzed)).content.decode()
    assert "Which steps stop a cough spreading?" in html
    assert "<li>Cover with a tissue</li><li>Cough into your elbow</li>" in html
    assert "Satisfactory (automatic)" in html
    assert "cut-and-cough" not in html  # the item's key is for exports
    assert "0, 2" not in html
    assert "(20)" not in html
    assert ">S (automatic)" not in html


def test_the_record_pdf_shows_questions_and_chosen_options_in_words(
    quizzed: dict[str, Any],
) -> None:
    import io

    from pypdf import PdfReader

    from assessment.records.pdf import record_json, render_record_pdf
    from assessment.records.selectors import load_record
    from delivery.records import RecordKey

    key = RecordKey(quizzed["learner"].pk, quizzed["cohort"].pk, quizzed["unit"].pk)
    record = load_record(key)
    text = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(render_record_pdf(record))).pages
    )
    assert "Which steps stop a cough spreading?" in text
    assert "Cover with a tissue" in text
    assert "Cough into your elbow" in text
    assert "cut-and-cough" not in text
    assert "(20)" not in text
    # The record's JSON, for machines, keeps the codes.
    data = record_json(record)
    quiz = next(t for t in data["tasks"] if t["key"] == quizzed["quiz"].key)
    answered = quiz["attempts"][0]["items"][0]
    assert (answered["key"], answered["answer_choices"]) == ("cut-and-cough", [0, 2])
    assert data["outcome"] == "20"


def test_the_search_names_the_outcome_and_the_csv_keeps_its_code(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    client = client_for(auditor)
    html = client.get(URL).content.decode()
    assert "<td>Competent <span" in html
    assert "<td>20 <span" not in html
    csv_text = b"".join(client.get(f"{URL}outcomes.csv").streaming_content).decode()
    assert ",20,Competent," in csv_text


def test_the_search_form_offers_every_choice(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    html = client_for(auditor).get(URL, {"outcome": "20", "sort": "unit"}).content.decode()
    assert '<option value="20" selected>Competent</option>' in html
    assert '<option value="none">No outcome yet</option>' in html
    assert '<option value="unit" selected>Unit</option>' in html
    assert f'<option value="{assessed["cohort"].pk}">' in html
    assert 'for="f-descending"><input type="checkbox" id="f-descending"' in html


def test_the_outcomes_csv_never_ends_an_activity_before_it_starts(
    client_for: Any, auditor: Any, assessor: Any, learner: Any
) -> None:
    """Credit transfer recorded at enrolment, before the cohort begins, and no attempts: the
    activity starts and ends the day it was recorded (the cohort's start came after it)."""
    import datetime as dt

    cohort = CohortFactory(starts_on=dt.date(2027, 2, 1), assessors=[assessor])
    made = assessable_unit(course=cohort.course)
    enrol_learner(learner, cohort)
    recorded = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)  # 11 am in Sydney
    Outcome.objects.create(
        learner=learner, unit=made["unit"], cohort=cohort, code="60", recorded_by=assessor,
        recorded_at=recorded,
    )  # fmt: skip
    response = client_for(auditor).get(f"{URL}outcomes.csv", {"unit": made["unit"].code})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2
    start, end = lines[1].split(",")[10:12]
    assert end == "2026-11-20"
    assert start <= end
    assert start == "2026-11-20"


@pytest.mark.parametrize(
    ("cohort_start", "enrolled", "first_attempt", "expected"),
    [
        ("2026-11-02", "2026-10-20", "2026-11-10", "2026-11-02"),  # began with the cohort
        ("2026-01-05", "2026-11-03", "2026-11-10", "2026-11-03"),  # joined a rolling intake
        ("2026-11-02", "2026-11-01", "2026-10-30", "2026-10-30"),  # attempted before the start
        ("2026-12-01", "2026-11-01", None, "2026-11-25"),  # recorded before the cohort began
    ],
)
def test_an_activity_starts_when_the_learner_could_begin_and_never_after_its_end(
    cohort_start: str, enrolled: str, first_attempt: str | None, expected: str
) -> None:
    import datetime as dt

    from assessment.records.selectors import activity_start

    day = dt.date.fromisoformat
    assert activity_start(
        end=day("2026-11-25"),
        cohort_start=day(cohort_start),
        enrolled_on=day(enrolled),
        first_attempt_on=day(first_attempt) if first_attempt else None,
    ) == day(expected)


def test_an_export_describes_its_filters_in_words(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    query = {"outcome": "20", "date_from": "2026-11-02"}
    html = client_for(auditor).get(f"{URL}exports/", query).content.decode()
    assert "Outcome <em>Competent</em>" in html
    assert "Assessed from <em>2 Nov 2026</em>" in html
    assert "<em>20</em>" not in html
