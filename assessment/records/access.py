"""Who may read assessment records, and how much of them.

Administrators and auditors read records. What an auditor reads is their grant: the one rule
every app asks, `delivery.permissions.auditor_scope` (an auditor with no grant is the provider's
own compliance officer and reads everything; an external auditor reads what a grant in force
covers). Outside that scope a record is 404, and once every grant has ended the records pages
are refused. The names below are delivery's, kept here for the records pages and exports.
"""

from __future__ import annotations

from typing import Any

from delivery.permissions import GrantEnded, RecordScope, record_scope
from delivery.roles import Role, roles_of

__all__ = ["GrantEnded", "RecordScope", "is_read_only_auditor", "record_scope"]


def is_read_only_auditor(user: Any) -> bool:
    """An account whose only role is auditor: it may look, never change."""
    return roles_of(user) == frozenset({Role.AUDITOR})
