from __future__ import annotations

from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    """Issues credentials when `assessment` announces a Competent outcome.

    The receiver is connected in `ready()` (once the outcome signal exists), so `assessment`
    never imports `credentials`.
    """

    name = "credentials"
    verbose_name = "Credentials"

    def ready(self) -> None:
        from assessment.signals import unit_outcome_recorded
        from credentials.receivers import enqueue_issuance

        unit_outcome_recorded.connect(enqueue_issuance, dispatch_uid="credentials.enqueue_issuance")
