"""Certificate PDFs: stored once rendered, rendered in the background after issue, on demand
when missing."""

from __future__ import annotations

import secrets

from celery import current_app
from django.core.files.base import ContentFile
from django.utils import timezone

from credentials.models import Credential

# The task that renders in the background (credentials/tasks.py), queued by its registered
# name: the task calls `ensure_certificate` below, so importing it here would tie services and
# tasks into a circle. CredentialsConfig.ready() imports the tasks, so the name is registered
# in every process, and in the embedded mode the task still runs in-process.
RENDER_CERTIFICATE_TASK = "credentials.tasks.render_certificate"


def queue_certificate(credential_id: int, *, force: bool = False) -> None:
    """Render (again, with `force`) and store the credential's certificate in the background."""
    task = current_app.tasks[RENDER_CERTIFICATE_TASK]
    if force:
        task.delay(credential_id, force=True)
    else:
        task.delay(credential_id)


def ensure_certificate(credential: Credential, *, force: bool = False) -> Credential:
    """The credential with its certificate PDF stored, rendering it if missing (or `force`).

    Rendered in the background after issue; a request that finds none renders it on demand,
    so a lost task or a wiped storage never leaves the learner without their certificate.
    """
    # Imported here, not at the top: WeasyPrint takes about a second to import, and only the
    # processes that render a certificate should pay for it (importing the services must not).
    from credentials.certificate import render_certificate_pdf

    if credential.certificate and not force:
        return credential
    pdf = render_certificate_pdf(credential)
    old_name = credential.certificate.name if credential.certificate else ""
    credential.certificate.save(
        f"{credential.public_id}-{secrets.token_hex(4)}.pdf", ContentFile(pdf), save=False
    )
    credential.certificate_rendered_at = timezone.now()
    credential.save(update_fields=["certificate", "certificate_rendered_at"])
    if old_name:
        credential.certificate.storage.delete(old_name)
    return credential
