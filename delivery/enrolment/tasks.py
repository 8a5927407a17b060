from __future__ import annotations

from celery import shared_task


@shared_task(name="delivery.enrolment.tasks.expire_waiting_list_offers", acks_late=True)
def expire_waiting_list_offers() -> int:
    """Celery beat, every few minutes: offers past their time pass to the next learner.
    Idempotent: an expired offer is no longer `offered`, so a second run finds nothing."""
    from delivery.enrolment.services import expire_offers

    return expire_offers()
