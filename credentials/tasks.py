from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_credentials_for_outcome(outcome_id: int) -> str | None:
    """Issue the unit (and, when it completes one, the course) credential for an outcome.

    Safe to run twice or redelivered after a crash: issuance is idempotent by unique
    constraints. Only database hiccups (locks, lost connections) are retried.
    """
    from credentials.keys import IssuerMismatch
    from credentials.services import issue_unit_credential

    try:
        credential = issue_unit_credential(outcome_id)
    except IssuerMismatch as exc:
        # A configuration error, not a transient one: retrying cannot help, and in the
        # embedded mode this runs inside the assessor's request, which must not fail for it.
        logger.error("credential for outcome %s not issued: %s", outcome_id, exc)
        return None
    return str(credential.public_id) if credential is not None else None


@shared_task(
    acks_late=True, autoretry_for=(OperationalError, OSError), retry_backoff=True, max_retries=5
)
def render_certificate(credential_id: int, force: bool = False) -> str | None:
    """Render and store a credential's certificate PDF (again, with `force`)."""
    from credentials.models import Credential
    from credentials.services import ensure_certificate

    credential = (
        Credential.objects.select_related("achievement", "learner").filter(pk=credential_id).first()
    )
    if credential is None:
        return None
    return ensure_certificate(credential, force=force).certificate.name


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_expiry_reminders() -> int:
    """Daily (Celery beat): remind learners of credentials about to expire."""
    from credentials.services import send_expiry_reminders as send

    return send()
