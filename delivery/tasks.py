from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(
    subject: str, body: str, to: list[str], *, html: str = "", from_email: str | None = None
) -> int:
    """Send one e-mail off the request path; SMTP hiccups are retried with backoff."""
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    return message.send()


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_announcement(announcement_id: int) -> int:
    from delivery.models import Announcement
    from delivery.services import send_announcement_emails

    announcement = (
        Announcement.objects.select_related("cohort__course").filter(pk=announcement_id).first()
    )
    if announcement is None:  # deleted before the worker got to it
        return 0
    return send_announcement_emails(announcement)
