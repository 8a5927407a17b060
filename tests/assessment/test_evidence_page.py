"""The page around one evidence file (issue 14, defect 8): a title, the photo's viewing copy with
alt text, a download of the original, and the way back to where the person came from."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.models import Evidence
from tests.assessment.conftest import assess
from tests.factories import UserFactory


@pytest.fixture
def photo(learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]) -> Evidence:
    made = assess(learner, assessor, cohort, written)
    evidence: Evidence = made["evidence"][1]
    assert evidence.original_name == "photo.png"
    assert evidence.preview
    return evidence


def url(evidence: Evidence) -> str:
    return f"/assess/evidence/{evidence.pk}/view"


def test_the_assessor_sees_the_photo_in_a_page_with_the_way_back(
    client_for: Any, assessor: Any, photo: Evidence
) -> None:
    response = client_for(assessor).get(url(photo))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>photo.png · evidence of Lena Nguyen" in html
    assert "<h1>photo.png</h1>" in html
    assert (
        f'<img src="/assess/evidence/{photo.pk}/preview" alt="Photo photo.png, uploaded by' in html
    )
    assert f'href="/assess/evidence/{photo.pk}/" download="photo.png">Download the original' in html
    assert f'href="/assess/attempts/{photo.attempt_id}/mark/">Back to marking' in html
    assert photo.sha256 in html


def test_the_marking_page_opens_the_evidence_page_not_a_bare_image(
    client_for: Any, assessor: Any, photo: Evidence
) -> None:
    html = client_for(assessor).get(f"/assess/attempts/{photo.attempt_id}/mark/").content.decode()
    assert f'<a href="{url(photo)}"><img' in html
    assert f'<a href="/assess/evidence/{photo.pk}/preview">' not in html


def test_the_auditor_goes_back_to_the_record_and_the_learner_to_the_task(
    client_for: Any, auditor: Any, learner: Any, cohort: Any, photo: Evidence
) -> None:
    attempt = photo.attempt
    record = f"/assess/records/{cohort.pk}/{learner.pk}/{attempt.task.unit_id}/"
    assert (
        f'href="{record}">Back to the record'
        in client_for(auditor).get(url(photo)).content.decode()
    )
    task = f"/assess/cohorts/{cohort.pk}/tasks/{attempt.task_id}/"
    assert f'href="{task}">Back to the task' in client_for(learner).get(url(photo)).content.decode()


def test_a_file_without_a_viewing_copy_is_offered_as_a_download(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    pdf = assess(learner, assessor, cohort, written)["evidence"][0]
    html = client_for(assessor).get(url(pdf)).content.decode()
    assert "This file is not shown in the page" in html
    assert "<img" not in html.split("<main", 1)[1]
    assert "Download the original" in html


def test_others_cannot_open_it(
    client_for: Any, other_assessor: Any, other_learner: Any, photo: Evidence, client: Any
) -> None:
    assert client_for(other_assessor).get(url(photo)).status_code == 404
    assert client_for(other_learner).get(url(photo)).status_code == 404
    assert client_for(UserFactory()).get(url(photo)).status_code == 404
    assert client.get(url(photo)).status_code == 302  # signed out: to the sign-in page


def test_it_is_only_read(client_for: Any, assessor: Any, photo: Evidence) -> None:
    assert client_for(assessor).post(url(photo)).status_code == 405
