"""Delivery's enrolment changes, written to the audit trail.

Delivery cannot import assessment, so it sends `delivery.signals.enrolment_ended` inside the
transaction that withdraws or transfers a learner; connected in `assessment.apps`, this writes
the event in that same transaction (both commit, or neither).
"""

from __future__ import annotations

from typing import Any

from assessment.audit.services import record_event


def record_enrolment_ended(
    sender: Any, *, enrolment: Any, actor: Any, action: str, **_: Any
) -> None:
    moved = enrolment.transferred_to
    record_event(
        action,
        enrolment,
        actor=actor,
        learner=enrolment.learner,
        data={
            "cohort": enrolment.cohort_id,
            "reason": enrolment.end_reason,
            "transferred_to_cohort": moved.cohort_id if moved is not None else None,
        },
    )
