from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_credentials_for_outcome(outcome_id: int) -> str | None:
    """Issue the unit (and, when it completes one, the course) credential for an outcome.

    Safe to run twice or redelivered after a crash: issuance is idempotent by unique
    constraints. Only database hiccups (locks, lost connections) are retried.
    """
    from credentials.services import issue_unit_credential

    credential = issue_unit_credential(outcome_id)
    return str(credential.public_id) if credential is not None else None
