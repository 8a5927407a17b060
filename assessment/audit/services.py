"""The audit trail: append-only, hash-chained events written in the same transaction as the
change they record.

An event's `payload` is the canonical JSON of all its columns but the hashes, plus the caller's
`data`; its `hash` is SHA-256 over the previous event's hash and that payload. So altering,
inserting, removing or reordering past events breaks a link, and `verify_chain()` walks the
chain in id order and names the first broken one. The database itself refuses to update or
delete events (assessment/migrations/0002_audit_append_only.py).

What no chain shows: events removed from the end, or appended by someone who writes to the
database and computes the hashes as we do. Writing down the last hash elsewhere now and then
(a ticket, an external log) closes both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from assessment.models import AuditEvent

GENESIS = "0" * 64

# One key for the one chain: appends take it, so they form a queue (see record_event).
ADVISORY_LOCK_KEY = 0x46_4C_49_50  # "FLIP"

# The payload's keys and the columns they copy; `verify_chain` checks each column against it.
_COLUMNS = {
    "at": "at",
    "actor": "actor_id",
    "actor_label": "actor_label",
    "action": "action",
    "object_type": "object_type",
    "object_id": "object_id",
    "learner": "learner_id",
    "unit": "unit_id",
}


def _plain(value: Any) -> Any:
    """JSON for the types services record, spelt the same on every run and machine.

    Anything else is refused rather than `str()`-ed: a repr can carry a memory address, and a
    set's order changes between runs, either of which would make the payload unreproducible.
    """
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValueError(f"a naive datetime has no place in the audit trail: {value!r}")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)  # a Decimal keeps its written precision: "1.50" stays "1.50"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not recorded in the audit trail: {value!r}")


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text, no NaN: the exact text that is hashed."""
    return json.dumps(
        data,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )


def link_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def _body(event: AuditEvent, data: Any) -> dict[str, Any]:
    """What the payload holds: the event's columns, and the caller's data."""
    return {**{key: getattr(event, column) for key, column in _COLUMNS.items()}, "data": data}


def record_event(
    action: str,
    obj: Any,
    *,
    actor: Any | None,
    learner: Any | None = None,
    unit: Any | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event about `obj` (a saved model instance) to the chain.

    Runs inside the transaction of the change it records, so both commit or neither does;
    raises RuntimeError outside one. Appends are serialised, or two transactions could chain to
    the same last event: on PostgreSQL by an advisory lock taken before the last hash is read
    and held until commit, which is sound under READ COMMITTED only (each statement then sees
    what committed before it; under REPEATABLE READ the snapshot would predate the lock, so that
    is refused). On SQLite there is one writer at a time: settings begin transactions IMMEDIATE,
    which holds the write lock from BEGIN (and a stale DEFERRED writer fails, never forks).
    Either way later writers queue until this transaction ends: record the event last.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the change's transaction")
    if obj.pk is None:
        raise ValueError(f"an audit event needs a saved object, not an unsaved {obj!r}")
    if connection.vendor == "postgresql":
        # Raw SQL on purpose: the ORM cannot take an advisory lock or read a setting.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), current_setting('transaction_isolation')",
                [ADVISORY_LOCK_KEY],
            )
            row = cursor.fetchone()
        if row is None or row[1] != "read committed":
            raise RuntimeError("the audit trail needs READ COMMITTED transactions on PostgreSQL")
    elif connection.vendor != "sqlite":
        raise RuntimeError(f"the audit trail cannot serialise appends on {connection.vendor}")
    # Only now, under the lock: no other transaction can append after this event until we end.
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    event = AuditEvent(
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        learner_id=getattr(learner, "pk", None),
        unit_id=getattr(unit, "pk", None),
        prev_hash=last or GENESIS,
    )
    event.payload = canonical_json(_body(event, data or {}))
    event.hash = link_hash(event.prev_hash, event.payload)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int  # events found intact, before the broken one if any
    broken_at: int | None = None  # the id of the first event whose link does not hold
    problem: str = ""


def verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainCheck:
    """Walk the chain in id order (all of it, streamed, unless given `events`) and stop at the
    first event that does not link to the one before it or does not match its own hash."""
    rows = AuditEvent.objects.order_by("id").iterator(2000) if events is None else events
    checked = 0
    # The two events before this one: enough to tell an inserted event from a removed one.
    prev: AuditEvent | None = None
    before: AuditEvent | None = None
    for event in rows:
        problem = _link_problem(event, prev, before) or _content_problem(event)
        if problem:
            return ChainCheck(False, checked, event.pk, problem)
        before, prev = prev, event
        checked += 1
    return ChainCheck(True, checked)


def _link_problem(event: AuditEvent, prev: AuditEvent | None, before: AuditEvent | None) -> str:
    if prev is None:
        if event.prev_hash == GENESIS:
            return ""
        return "it is the first event but links to an earlier one: events before it were removed"
    if event.prev_hash == prev.hash:
        return ""
    if event.prev_hash == (before.hash if before else GENESIS):
        return (
            f"it links past event #{prev.pk} before it: #{prev.pk} was inserted, "
            "or two writers chained to the same event"
        )
    return (
        f"it does not link to event #{prev.pk} before it: events between them were removed "
        f"or reordered, or #{prev.pk} was rewritten"
    )


def _content_problem(event: AuditEvent) -> str:
    if link_hash(event.prev_hash, event.payload) != event.hash:
        return "its payload or hash was altered: they do not match"
    try:
        body = json.loads(event.payload)
        expected = canonical_json(_body(event, body["data"]))
    except (ValueError, TypeError, KeyError):
        return "its payload is not an audit event"
    if expected == event.payload:
        return ""
    for key, column in _COLUMNS.items():
        if canonical_json(getattr(event, column)) != canonical_json(body.get(key)):
            return f"its {column} column was changed: it differs from the payload"
    return "its payload is not in canonical form"
