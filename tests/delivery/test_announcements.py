from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends import locmem

from delivery.models import Announcement, AnnouncementEmail, AnnouncementRead, Enrolment
from delivery.roles import Role
from delivery.services import enrol_learner, post_announcement, send_announcement_emails
from tests.factories import UserFactory


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


class FailingOnce(locmem.EmailBackend):
    """Django's test outbox, with an SMTP failure on the second message of the first run."""

    failed = False

    def send_messages(self, messages: Any) -> int:
        if len(mail.outbox) == 1 and not FailingOnce.failed:
            FailingOnce.failed = True
            raise OSError("421 service not available")
        return super().send_messages(messages)


def test_a_retry_after_a_failure_emails_only_the_learners_not_yet_emailed(
    settings: Any, trainer: Any, cohort: Any
) -> None:
    learners = [UserFactory(roles=[Role.LEARNER]) for _ in range(3)]
    for each in learners:
        enrol_learner(each, cohort)
    announcement = Announcement.objects.create(
        cohort=cohort, author=trainer, title="Room change", body="Room 4."
    )
    settings.EMAIL_BACKEND = "tests.delivery.test_announcements.FailingOnce"
    FailingOnce.failed = False

    with pytest.raises(OSError, match="421"):
        send_announcement_emails(announcement)
    assert len(mail.outbox) == 1
    assert AnnouncementEmail.objects.filter(announcement=announcement).count() == 1

    assert send_announcement_emails(announcement) == 2  # the retry
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        each.email for each in learners
    )
    assert send_announcement_emails(announcement) == 0  # a redelivered job
    assert len(mail.outbox) == 3


class RacingRun(locmem.EmailBackend):
    """While the first e-mail goes, another run records the next learner."""

    announcement: Any = None
    next_learner: Any = None

    def send_messages(self, messages: Any) -> int:
        if RacingRun.next_learner is not None:
            AnnouncementEmail.objects.create(
                announcement=RacingRun.announcement, learner=RacingRun.next_learner
            )
            RacingRun.next_learner = None
        return super().send_messages(messages)


def test_a_learner_another_run_has_taken_is_skipped(
    settings: Any, trainer: Any, learner: Any, other_learner: Any, cohort: Any
) -> None:
    enrol_learner(learner, cohort)
    enrol_learner(other_learner, cohort)
    announcement = Announcement.objects.create(
        cohort=cohort, author=trainer, title="Room change", body="Room 4."
    )
    first, second = sorted([learner, other_learner], key=lambda user: user.pk)
    settings.EMAIL_BACKEND = "tests.delivery.test_announcements.RacingRun"
    RacingRun.announcement, RacingRun.next_learner = announcement, second

    assert send_announcement_emails(announcement) == 1
    assert [m.to for m in mail.outbox] == [[first.email]]
    assert AnnouncementEmail.objects.filter(announcement=announcement).count() == 2


class RefusingOne(locmem.EmailBackend):
    refused = ""

    def send_messages(self, messages: Any) -> int:
        if messages[0].to == [RefusingOne.refused]:
            raise smtplib.SMTPRecipientsRefused({RefusingOne.refused: (550, b"No such user")})
        return super().send_messages(messages)


def test_an_address_the_server_refuses_does_not_stop_the_others(
    settings: Any, trainer: Any, cohort: Any, caplog: Any
) -> None:
    learners = sorted(
        (UserFactory(roles=[Role.LEARNER]) for _ in range(3)), key=lambda user: user.pk
    )
    for each in learners:
        enrol_learner(each, cohort)
    announcement = Announcement.objects.create(
        cohort=cohort, author=trainer, title="Room change", body="Room 4."
    )
    settings.EMAIL_BACKEND = "tests.delivery.test_announcements.RefusingOne"
    RefusingOne.refused = learners[0].email

    assert send_announcement_emails(announcement) == 2
    assert [m.to for m in mail.outbox] == [[learners[1].email], [learners[2].email]]
    emailed = AnnouncementEmail.objects.filter(announcement=announcement)
    assert sorted(emailed.values_list("learner_id", flat=True)) == [
        learners[1].pk,
        learners[2].pk,
    ]
    assert "refused" in caplog.text


class DeferringOnce(locmem.EmailBackend):
    """Django's test outbox, with the server answering one address with a temporary (4xx)
    refusal the first time: smtplib raises SMTPRecipientsRefused for it, as for a 5xx."""

    deferred = ""
    reply: tuple[int, bytes] = (450, b"4.2.1 Mailbox busy, try again later")

    def send_messages(self, messages: Any) -> int:
        if messages[0].to == [DeferringOnce.deferred]:
            DeferringOnce.deferred = ""
            raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: DeferringOnce.reply})
        return super().send_messages(messages)


@pytest.mark.parametrize(
    ("reply", "which"),
    [
        ((450, b"4.2.1 Mailbox busy, try again later"), 0),  # the connection stays up
        ((421, b"4.3.2 Shutting down"), 2),  # the server hangs up on the last learner
    ],
    ids=["450-first", "421-last"],
)
def test_an_address_refused_for_now_is_emailed_exactly_once_by_the_retry(
    settings: Any, trainer: Any, cohort: Any, reply: tuple[int, bytes], which: int
) -> None:
    learners = sorted(
        (UserFactory(roles=[Role.LEARNER]) for _ in range(3)), key=lambda user: user.pk
    )
    for each in learners:
        enrol_learner(each, cohort)
    announcement = Announcement.objects.create(
        cohort=cohort, author=trainer, title="Room change", body="Room 4."
    )
    settings.EMAIL_BACKEND = "tests.delivery.test_announcements.DeferringOnce"
    DeferringOnce.deferred, DeferringOnce.reply = learners[which].email, reply
    others = [each.email for each in learners if each != learners[which]]

    with pytest.raises(smtplib.SMTPRecipientsRefused) as raised:
        send_announcement_emails(announcement)
    assert isinstance(raised.value, OSError)  # what the Celery job is retried on
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(others)
    emailed = AnnouncementEmail.objects.filter(announcement=announcement)
    assert learners[which].pk not in emailed.values_list("learner_id", flat=True)

    assert send_announcement_emails(announcement) == 1  # the retry
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        each.email for each in learners
    )
    assert send_announcement_emails(announcement) == 0  # a redelivered job
    assert len(mail.outbox) == 3
