from __future__ import annotations

import re
from typing import Any

import pytest

from assessment import services
from assessment.marking import services as marking
from assessment.models import Outcome


@pytest.fixture
def satisfactory(learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]) -> Any:
    draft = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(draft, learner=learner, answers={"q1": "a", "q2": "b"})
    attempt = services.submit_attempt(draft, learner=learner, declared=True)
    marking.mark_attempt(
        attempt, assessor=assessor, judgements=[
            marking.ItemJudgement("q1", "S"), marking.ItemJudgement("q2", "S")
        ], feedback="", declared=True, version=attempt.version,
    )  # fmt: skip
    return written["unit"]


def url(cohort: Any, learner: Any, unit: Any) -> str:
    return f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/units/{unit.pk}/outcome/"


def test_the_assessor_records_competent(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, satisfactory: Any
) -> None:
    client = client_for(assessor)
    assert b"1 of 1 task satisfactory" in client.get(url(cohort, learner, satisfactory)).content
    response = client.post(url(cohort, learner, satisfactory), {"code": "20"})
    assert response.status_code == 302
    assert Outcome.objects.get().code == "20"


def test_it_explains_why_an_outcome_is_refused(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    response = client_for(assessor).post(url(cohort, learner, written["unit"]), {"code": "20"})
    assert response.status_code == 400
    assert b"Competent needs every task Satisfactory" in response.content
    assert not Outcome.objects.exists()


def test_only_the_cohorts_assessors_record_outcomes(
    client_for: Any, trainer: Any, other_assessor: Any, learner: Any, cohort: Any, satisfactory: Any
) -> None:
    assert (
        client_for(trainer).post(url(cohort, learner, satisfactory), {"code": "20"}).status_code
        == 403
    )
    assert (
        client_for(other_assessor)
        .post(url(cohort, learner, satisfactory), {"code": "20"})
        .status_code
        == 404
    )
    assert not Outcome.objects.exists()


def test_a_learner_not_in_the_cohort_is_not_found(
    client_for: Any, assessor: Any, other_learner: Any, cohort: Any, satisfactory: Any
) -> None:
    assert client_for(assessor).get(url(cohort, other_learner, satisfactory)).status_code == 404


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_rpl_needs_a_justification_and_a_document(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(assessor)
    target = url(cohort, learner, written["unit"])
    response = client.post(target, {"code": "51", "justification": "Ten years on the ward."})
    assert response.status_code == 400
    assert b"attach the evidence for RPL" in response.content
    document = SimpleUploadedFile("statement.pdf", PDF, content_type="application/pdf")
    response = client.post(
        target, {"code": "51", "justification": "Ten years on the ward.", "documents": document}
    )
    assert response.status_code == 302
    outcome = Outcome.objects.get()
    stored = outcome.documents.get()
    assert (stored.original_name, stored.content_type, stored.size) == (
        "statement.pdf", "application/pdf", len(PDF),
    )  # fmt: skip
    download = client.get(f"/assess/outcomes/documents/{stored.pk}/")
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == PDF


def test_an_rpl_document_that_is_a_program_is_refused_and_nothing_recorded(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    program = SimpleUploadedFile("statement.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    response = client_for(assessor).post(
        url(cohort, learner, written["unit"]),
        {"code": "60", "justification": "Credit from another RTO.", "documents": program},
    )
    assert response.status_code == 400
    assert not Outcome.objects.exists()


def test_an_rpl_document_is_not_served_to_another_cohorts_assessor(
    client_for: Any,
    assessor: Any,
    other_assessor: Any,
    learner: Any,
    other_learner: Any,
    cohort: Any,
    written: dict[str, Any],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client_for(assessor).post(
        url(cohort, learner, written["unit"]),
        {
            "code": "51",
            "justification": "Prior work.",
            "documents": SimpleUploadedFile("s.pdf", PDF),
        },
    )
    stored = Outcome.objects.get().documents.get()
    assert (
        client_for(other_assessor).get(f"/assess/outcomes/documents/{stored.pk}/").status_code
        == 404
    )
    assert client_for(other_learner).get(
        f"/assess/outcomes/documents/{stored.pk}/"
    ).status_code in {
        403,
        404,
    }
    assert client_for(learner).get(f"/assess/outcomes/documents/{stored.pk}/").status_code == 200


# --- from marking on to the outcome and the credential (issue 14, defect 7) ------------------


def test_when_every_task_is_satisfactory_competent_is_offered_first(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, satisfactory: Any
) -> None:
    html = client_for(assessor).get(url(cohort, learner, satisfactory)).content.decode()
    assert f"Every task of {satisfactory.code} is Satisfactory." in html
    assert 'href="#record-outcome"' in html
    assert re.search(r'<input type="radio" name="code" value="20"[^>]* checked', html)


def test_nothing_is_offered_while_a_task_is_not_satisfactory(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    html = client_for(assessor).get(url(cohort, learner, written["unit"])).content.decode()
    assert "is Satisfactory." not in html
    assert not re.search(r'<input type="radio" name="code" value="20"[^>]* checked', html)


def test_after_competent_the_page_confirms_the_credential_with_a_link(
    client_for: Any,
    assessor: Any,
    learner: Any,
    cohort: Any,
    satisfactory: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from credentials.models import Credential

    client = client_for(assessor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(cohort, learner, satisfactory), {"code": "20"})
    assert response.status_code == 302
    credential = Credential.objects.get(learner=learner, achievement__unit=satisfactory)
    html = client.get(response["Location"]).content.decode()
    assert "Outcome recorded for Lena Nguyen: Competent." in html
    assert "Current outcome: Competent" in html
    assert f"/credentials/{credential.public_id}" in html
    assert "(20)" not in html
    assert "Every task of" not in html  # nothing left to offer


def test_a_competent_outcome_whose_credential_is_not_issued_yet_says_so(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, satisfactory: Any
) -> None:
    marking.record_outcome(learner, satisfactory, cohort, code="20", recorded_by=assessor)
    html = client_for(assessor).get(url(cohort, learner, satisfactory)).content.decode()
    assert "No credential has been issued for this unit." in html
    assert "issued in the background within moments" in html
    assert "check again</a>" in html
