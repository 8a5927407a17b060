from __future__ import annotations

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Before any URLconf is imported (the root's, or the WebSocket routing's).
        from delivery import (
            checks,  # noqa: F401 - registers the deployment checks
            converters,
        )

        converters.register()

        # Celery's autodiscovery reads only `delivery.tasks`: this registers the room's tasks.
        from delivery.enrolment import tasks  # noqa: F401
