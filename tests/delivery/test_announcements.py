from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from delivery.models import Announcement, AnnouncementRead, Enrolment
from delivery.services import enrol_learner, post_announcement


def new_url(cohort: Any) -> str:
    return f"/learn/cohorts/{cohort.pk}/announcements/new"


def test_a_trainer_posts_and_active_learners_are_emailed_after_commit(
    client_for: Any,
    trainer: Any,
    learner: Any,
    other_learner: Any,
    cohort: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enrol_learner(learner, cohort)
    enrol_learner(other_learner, cohort)
    Enrolment.objects.filter(learner=other_learner).update(status=Enrolment.Status.WITHDRAWN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trainer).post(
            new_url(cohort), {"title": "Bring gloves", "body": "**Tuesday** session."}
        )
    assert response.status_code == 302
    assert Announcement.objects.get().title == "Bring gloves"
    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert "Bring gloves" in mail.outbox[0].subject
    assert "<strong>Tuesday</strong>" in mail.outbox[0].alternatives[0][0]


def test_nothing_is_sent_when_the_post_fails(
    client_for: Any,
    trainer: Any,
    learner: Any,
    cohort: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enrol_learner(learner, cohort)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(trainer).post(new_url(cohort), {"title": "", "body": ""})
    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not Announcement.objects.exists()
    assert mail.outbox == []


def test_only_a_trainer_of_the_cohort_may_post(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, other_cohort: Any, trainer: Any
) -> None:
    data = {"title": "x", "body": "y"}
    assert client_for(assessor).post(new_url(cohort), data).status_code == 403
    assert client_for(learner).post(new_url(cohort), data).status_code == 403
    assert client_for(trainer).post(new_url(other_cohort), data).status_code == 404
    assert not Announcement.objects.exists()


def test_learners_see_unread_first_and_can_mark_read(
    client_for: Any, trainer: Any, learner: Any, cohort: Any
) -> None:
    enrol_learner(learner, cohort)
    older = post_announcement(cohort, author=trainer, title="Older news", body="a")
    newer = post_announcement(cohort, author=trainer, title="Newer news", body="b")
    AnnouncementRead.objects.create(announcement=newer, learner=learner)
    client = client_for(learner)
    html = client.get("/learn/").content.decode()
    assert html.index("Older news") < html.index("Newer news")
    response = client.post(f"/learn/announcements/{older.pk}/read", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert AnnouncementRead.objects.filter(announcement=older, learner=learner).exists()


def test_a_learner_cannot_mark_another_cohorts_announcement(
    client_for: Any, learner: Any, other_cohort: Any, trainer: Any, enrolled: None
) -> None:
    other = post_announcement(other_cohort, author=trainer, title="Not yours", body="x")
    assert client_for(learner).post(f"/learn/announcements/{other.pk}/read").status_code == 404
    assert b"Not yours" not in client_for(learner).get("/learn/").content


@pytest.mark.parametrize("body", ["<script>alert(1)</script>", "[x](javascript:alert(1))"])
def test_announcement_markdown_renders_inert(
    client_for: Any, trainer: Any, learner: Any, cohort: Any, body: str
) -> None:
    enrol_learner(learner, cohort)
    post_announcement(cohort, author=trainer, title="Hi", body=body)
    html = client_for(learner).get("/learn/").content.decode()
    assert "<script>alert" not in html
    assert 'href="javascript:' not in html
