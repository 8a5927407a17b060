"""State changes in delivery: roles, cohorts, enrolments, progress, announcements."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from delivery.models import (
    Announcement,
    AnnouncementEmail,
    AnnouncementRead,
    Cohort,
    Course,
    Enrolment,
    Resource,
    ResourceProgress,
)
from delivery.roles import Role, forget_roles, roles_of
from delivery.signals import learner_enrolled

logger = logging.getLogger(__name__)


@transaction.atomic
def grant_role(user: Any, role: Role) -> None:
    """Give `user` the role's group.

    Administrators run the whole catalogue, users and keys through the Django admin, so they
    are staff superusers: a permission list per model would only ever be "everything".
    """
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    if role is Role.ADMINISTRATOR and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    forget_roles(user)


@transaction.atomic
def revoke_role(user: Any, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name=role.value))
    if role is Role.ADMINISTRATOR and (user.is_staff or user.is_superuser):
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
    forget_roles(user)


@transaction.atomic
def create_cohort(
    course: Course,
    *,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    trainers: Sequence[Any] = (),
    assessors: Sequence[Any] = (),
) -> Cohort:
    """A new run of `course`. Staff must already hold the trainer or assessor role."""
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "A cohort cannot end before it starts."})
    for staff, role in [(trainers, Role.TRAINER), (assessors, Role.ASSESSOR)]:
        lacking = [u.get_username() for u in staff if role not in roles_of(u)]
        if lacking:
            raise ValidationError(f"Not holding the {role} role: {', '.join(lacking)}.")
    cohort = Cohort.objects.create(course=course, name=name, starts_on=starts_on, ends_on=ends_on)
    cohort.trainers.add(*trainers)
    cohort.assessors.add(*assessors)
    return cohort


@transaction.atomic
def enrol_learner(learner: Any, cohort: Cohort) -> Enrolment:
    """Enrol `learner` in `cohort`, granting the learner role; enrolling twice is a no-op."""
    grant_role(learner, Role.LEARNER)
    enrolment, created = Enrolment.objects.get_or_create(learner=learner, cohort=cohort)
    if created:
        transaction.on_commit(lambda: learner_enrolled.send(sender=Enrolment, enrolment=enrolment))
    return enrolment


def record_resource_opened(learner: Any, resource: Resource) -> ResourceProgress:
    """Note that the learner opened the resource: first opening and last visit."""
    now = timezone.now()
    progress, created = ResourceProgress.objects.get_or_create(
        learner=learner, resource=resource, defaults={"opened_at": now, "last_seen_at": now}
    )
    if not created:
        ResourceProgress.objects.filter(pk=progress.pk).update(last_seen_at=now)
        progress.last_seen_at = now
    return progress


@transaction.atomic
def mark_resource_done(learner: Any, resource: Resource, *, done: bool = True) -> ResourceProgress:
    """Mark (or unmark) a resource finished. Idempotent: marking twice keeps the first time."""
    progress = record_resource_opened(learner, resource)
    progress = ResourceProgress.objects.select_for_update().get(pk=progress.pk)
    if done and progress.completed_at is None:
        progress.completed_at = timezone.now()
    elif not done:
        progress.completed_at = None
    progress.save(update_fields=["completed_at"])
    return progress


# Watching this far (of the length the player reports) counts as having watched it all.
MEDIA_COMPLETE_FRACTION = 0.95


@transaction.atomic
def record_media_position(
    learner: Any, resource: Resource, *, position: int, duration: int | None
) -> ResourceProgress:
    """Keep the furthest point reached in a video or podcast, and finish it near the end.

    Positions only move forward, so seeking back to re-watch never loses the furthest point.
    """
    if not resource.is_media:
        raise ValidationError("Only video and audio report a position.")
    if position < 0 or (duration is not None and duration <= 0):
        raise ValidationError("Position and duration must be positive.")
    progress = record_resource_opened(learner, resource)
    progress = ResourceProgress.objects.select_for_update().get(pk=progress.pk)
    progress.position_seconds = max(progress.position_seconds, position)
    if duration:
        progress.duration_seconds = duration
    fields = ["position_seconds", "duration_seconds"]
    if (
        progress.completed_at is None
        and progress.duration_seconds
        and progress.position_seconds >= MEDIA_COMPLETE_FRACTION * progress.duration_seconds
    ):
        progress.completed_at = timezone.now()
        fields.append("completed_at")
    progress.save(update_fields=fields)
    return progress


@transaction.atomic
def post_announcement(cohort: Cohort, *, author: Any, title: str, body: str) -> Announcement:
    """Post to a cohort; its active learners are e-mailed by Celery once this commits."""
    if not title.strip() or not body.strip():
        raise ValidationError("An announcement needs a title and some text.")
    announcement = Announcement.objects.create(
        cohort=cohort, author=author, title=title.strip(), body=body
    )
    from delivery.tasks import email_announcement

    email_announcement.delay_on_commit(announcement.pk)
    return announcement


def send_announcement_emails(announcement: Announcement) -> int:
    """E-mail the cohort's active learners not yet e-mailed this announcement, over one SMTP
    connection; returns how many were sent now. Meant to run outside any transaction (the
    Celery job), so each learner's record commits with their e-mail.

    Each learner is recorded (AnnouncementEmail, unique per learner) just before their e-mail
    goes, and the record is taken back if sending fails, so a retry after an SMTP error picks up
    where the last run stopped, and a run that finds a learner already recorded (another run at
    the same time) skips them. Only the e-mail in flight when something breaks can be lost (the
    worker killed before it went) or go twice (the connection lost after the server took it);
    the announcement itself is always in the app. An address the server refuses outright (a 5xx
    reply) is logged and skipped, so it cannot stop the e-mails to the learners after it. One it
    refuses for now (a 4xx reply: mailbox busy, greylisted, the server shutting down) is not
    recorded, the learners after it still get theirs, and the run then raises so the job is
    retried for that learner rather than the e-mail being lost.
    """
    recipients = list(
        announcement.cohort.enrolments.filter(status=Enrolment.Status.ACTIVE)
        .exclude(learner__email="")
        .exclude(learner_id__in=announcement.emails.values("learner_id"))
        .order_by("learner_id")
        .values_list("learner_id", "learner__email")
    )
    if not recipients:
        return 0
    subject = f"{announcement.cohort.course.title}: {announcement.title}"
    context = {"announcement": announcement, "provider_name": settings.PROVIDER_NAME}
    text = render_to_string("delivery/email/announcement.txt", context)
    html = render_to_string("delivery/email/announcement.html", context)
    sent = 0
    deferred: smtplib.SMTPRecipientsRefused | None = None
    with get_connection() as connection:
        for learner_id, address in recipients:
            try:
                with transaction.atomic():
                    record = AnnouncementEmail.objects.create(
                        announcement=announcement, learner_id=learner_id
                    )
            except IntegrityError:
                continue  # another run has e-mailed them, or is about to
            message = EmailMultiAlternatives(subject, text, None, [address])
            message.attach_alternative(html, "text/html")
            try:
                sent += connection.send_messages([message]) or 0
            except smtplib.SMTPRecipientsRefused as refused:
                record.delete()
                if any(400 <= code < 500 for code, _reply in refused.recipients.values()):
                    deferred = refused  # for now: the retry sends it
                    logger.info(
                        "announcement %s: the mail server deferred %s's e-mail: %s",
                        announcement.pk,
                        learner_id,
                        refused.recipients,
                    )
                    continue
                logger.warning(
                    "announcement %s: the mail server refused %s's address",
                    announcement.pk,
                    learner_id,
                )
            except BaseException:
                record.delete()  # not sent: the retry sends it
                raise
    if deferred is not None:
        raise deferred  # an OSError, so the Celery job is retried with backoff
    return sent


def mark_announcement_read(learner: Any, announcement: Announcement) -> None:
    AnnouncementRead.objects.get_or_create(announcement=announcement, learner=learner)
