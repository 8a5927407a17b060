"""The audit trail: append-only, hash-chained events written in the same transaction as the
change they record.

Each event's `hash` is SHA-256 over the previous event's hash and this event's canonical JSON
(sorted keys, no spaces, UTF-8), so changing, inserting or removing any past event breaks every
link after it. `verify_chain()` walks the chain and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from assessment.models import AuditEvent

GENESIS = "0" * 64

# Serialises writers on PostgreSQL so two transactions never chain to the same previous event.
_ADVISORY_LOCK_KEY = 0x46_4C_49_50  # "FLIP"


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def record_event(
    action: str,
    obj: Any,
    *,
    actor: Any | None,
    learner: Any | None = None,
    unit: Any | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the change's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    prev_hash = last or GENESIS
    at = timezone.now()
    actor_id = getattr(actor, "pk", None)
    body = {
        "at": at.isoformat(),
        "actor": actor_id,
        "action": action,
        "object_type": obj._meta.label_lower,
        "object_id": str(obj.pk),
        "learner": getattr(learner, "pk", None),
        "unit": getattr(unit, "pk", None),
        "data": data or {},
    }
    payload = canonical_json(body)
    return AuditEvent.objects.create(
        at=at,
        actor_id=actor_id,
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        object_type=body["object_type"],
        object_id=body["object_id"],
        learner_id=body["learner"],
        unit_id=body["unit"],
        payload=payload,
        prev_hash=prev_hash,
        hash=link_hash(prev_hash, payload),
    )


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_at: int | None = None
    problem: str = ""


def verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainCheck:
    """Walk the whole chain in order; stop at the first event whose links do not hold."""
    prev_hash = GENESIS
    checked = 0
    rows = events if events is not None else AuditEvent.objects.order_by("id").iterator(2000)
    for event in rows:
        if event.prev_hash != prev_hash:
            return ChainCheck(False, checked, event.pk, "its previous hash does not match")
        if link_hash(prev_hash, event.payload) != event.hash:
            return ChainCheck(False, checked, event.pk, "its content does not match its hash")
        body = json.loads(event.payload)
        if (body["action"], body["object_type"], body["object_id"]) != (
            event.action,
            event.object_type,
            event.object_id,
        ):
            return ChainCheck(False, checked, event.pk, "its columns differ from its payload")
        prev_hash = event.hash
        checked += 1
    return ChainCheck(True, checked)
