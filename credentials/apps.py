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
        from credentials import demo
        from credentials.receivers import enqueue_issuance
        from delivery.signals import demo_seeded

        unit_outcome_recorded.connect(enqueue_issuance, dispatch_uid="credentials.enqueue_issuance")
        # After assessment's demo data (apps are ready in INSTALLED_APPS order).
        demo_seeded.connect(demo.seed, dispatch_uid="credentials.demo.seed")

        from credentials.records import SECTION
        from delivery.records import register_section

        register_section(SECTION)

        from credentials.prerequisites import missing_prerequisites
        from delivery.enrolment.requirements import register_requirement

        register_requirement(missing_prerequisites)  # delivery's enrolment asks it

        # The services queue tasks by their registered names (credentials.services.certificates
        # says why); importing the tasks here registers those names in every process.
        from credentials import tasks  # noqa: F401
