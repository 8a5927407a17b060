"""The assessors' digest of new submissions: one e-mail per assessor with something new."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse

from assessment.models import Attempt


def send_marking_digests(*, since: datetime) -> int:
    """E-mail each assessor the attempts submitted since `since` in their cohorts, and how many
    are waiting in all; returns the number of e-mails sent. Assessors with nothing new get none.
    """
    new_by_cohort = dict(
        Attempt.objects.awaiting_marking()
        .filter(submitted_at__gte=since)
        .values("cohort_id")
        .annotate(n=Count("id"))
        .values_list("cohort_id", "n")
    )
    if not new_by_cohort:
        return 0
    waiting_by_cohort = dict(
        Attempt.objects.awaiting_marking()
        .values("cohort_id")
        .annotate(n=Count("id"))
        .values_list("cohort_id", "n")
    )
    user_model = get_user_model()
    through = user_model.cohorts_assessing.through
    cohorts_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for user_id, cohort_id, name in through.objects.filter(cohort_id__in=new_by_cohort).values_list(
        "user_id", "cohort_id", "cohort__name"
    ):
        cohorts_of[user_id].append((cohort_id, name))
    assessors = user_model.objects.filter(pk__in=cohorts_of, is_active=True).exclude(email="")
    messages = []
    for assessor in assessors:
        rows = [
            (name, new_by_cohort[cohort_id], waiting_by_cohort.get(cohort_id, 0))
            for cohort_id, name in sorted(cohorts_of[assessor.pk], key=lambda c: c[1])
        ]
        context = {
            "assessor": assessor,
            "rows": rows,
            "new": sum(r[1] for r in rows),
            "waiting": sum(r[2] for r in rows),
            "queue_path": reverse("assessment:queue"),
            "provider_name": settings.PROVIDER_NAME,
        }
        messages.append(
            EmailMessage(
                f"{context['new']} new submission{'s' if context['new'] != 1 else ''} to mark",
                render_to_string("assessment/email/digest.txt", context),
                None,
                [assessor.email],
            )
        )
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
