"""Background work of the credentials app: thin interfaces that load by id and call a service.

Services never import this module (they queue a task by its registered name, see
`services.certificates`), so the two stay out of each other's way; `CredentialsConfig.ready()`
imports it so every process knows the names.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from credentials import services
from credentials.keys import IssuerMismatch
from credentials.models import Credential

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def issue_credentials_for_outcome(outcome_id: int) -> str | None:
    """Issue the unit (and, when it completes one, the course) credential for an outcome.

    Safe to run twice or redelivered after a crash: issuance is idempotent by unique
    constraints. Only database hiccups (locks, lost connections) are retried.
    """
    try:
        credential = services.issue_unit_credential(outcome_id)
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
    credential = (
        Credential.objects.select_related("achievement", "learner").filter(pk=credential_id).first()
    )
    if credential is None:
        return None
    return services.ensure_certificate(credential, force=force).certificate.name


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_expiry_reminders() -> int:
    """Daily (Celery beat): remind learners of credentials about to expire."""
    return services.send_expiry_reminders()
