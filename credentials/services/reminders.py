"""Reminding learners that a credential is about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from credentials.documents import site_url
from credentials.models import Credential, ExpiryReminder
from delivery.notifications import notify_user
from delivery.tasks import send_email


def send_expiry_reminders(*, now: datetime | None = None) -> int:
    """Remind learners 90 and 30 days before a credential expires, by e-mail and in the app.

    Idempotent: each (credential, days) reminder is a row under a unique constraint, created
    before the e-mail is queued, so a second run or a second worker sends nothing twice. A
    credential found only inside the 30-day window gets just the 30-day reminder.
    """
    now = now or timezone.now()
    sent = 0
    days_windows = sorted(settings.CREDENTIALS_REMINDER_DAYS)
    for days in days_windows:
        inner = max((d for d in days_windows if d < days), default=0)
        due = (
            Credential.objects.filter(
                revoked_at__isnull=True,
                valid_until__gt=now + timedelta(days=inner),
                valid_until__lte=now + timedelta(days=days),
            )
            .exclude(reminders__days_before=days)
            .select_related("learner", "achievement")
        )
        for credential in due:
            try:
                with transaction.atomic():
                    ExpiryReminder.objects.create(credential=credential, days_before=days)
            except IntegrityError:
                continue
            when = timezone.localtime(credential.valid_until)
            message = (
                f"Your credential {credential.achievement.name} expires on {when:%d %B %Y}. "
                "Renewing it takes a new assessment: ask your trainer."
            )
            notify_user(
                credential.learner_id, message, level="warning", url=reverse("credentials:wallet")
            )
            if credential.learner.email:
                send_email.delay_on_commit(
                    f"Your credential expires on {when:%d %B %Y}",
                    message + f"\n\nYour credentials: {site_url(reverse('credentials:wallet'))}\n",
                    [credential.learner.email],
                )
            sent += 1
    return sent
