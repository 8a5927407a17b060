from __future__ import annotations

from typing import Any

from credentials.tasks import issue_credentials_for_outcome


def enqueue_issuance(sender: Any, *, outcome_id: int, **kwargs: Any) -> None:
    """`unit_outcome_recorded` is sent after commit, so the task can be enqueued directly."""
    issue_credentials_for_outcome.delay(outcome_id)
