"""What the room hears: events rendered once, serialised once, sent after the commit.

An event is one JSON text for learners and, when staff see more (names of anonymous askers,
moderation buttons), one for staff. It goes to the session's group once; each daphne process
fans it out to its own sockets (live/hub.py), so no consumer renders or encodes anything.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from live import groups
from live.models import LiveSession

log = logging.getLogger(__name__)

Audience = Literal["all", "staff"]


def next_seq(session_id: int) -> int:
    """The next sequence number of the room. Call inside the transaction that makes the change:
    the row lock orders events of one session, and a rollback hands the number back."""
    LiveSession.objects.filter(pk=session_id).update(seq=F("seq") + 1)
    return int(LiveSession.objects.values_list("seq", flat=True).get(pk=session_id))


def current_seq(session_id: int) -> int:
    return int(LiveSession.objects.values_list("seq", flat=True).get(pk=session_id))


def room_seqs(session_ids: list[int]) -> dict[int, int]:
    """The current seq of each of these rooms, in one query (the hub's look for missed events)."""
    return dict(LiveSession.objects.filter(pk__in=session_ids).values_list("pk", "seq"))


def encode(kind: str, seq: int | None, **fields: Any) -> str:
    payload: dict[str, Any] = {"type": kind}
    if seq is not None:
        payload["seq"] = seq
    payload.update(fields)
    return json.dumps(payload, separators=(",", ":"), default=str)


def message(
    text: str | None,
    *,
    staff_text: str | None = None,
    audience: Audience = "all",
    user_id: int | None = None,
    close: int | None = None,
) -> dict[str, Any]:
    """The channel-layer message the hub understands (see live/hub.py). Its `seq` (the one the
    text carries) tells each process's hub how far its room has heard, so a room that missed an
    event nobody followed can notice it (hub.Hub._catch_up)."""
    return {
        "type": "live.event",
        "seq": _seq_of(text or staff_text),
        "text": text,
        "staff_text": staff_text,
        "audience": audience,
        "user_id": user_id,
        "close": close,
    }


def _seq_of(text: str | None) -> int | None:
    seq = json.loads(text).get("seq") if text else None
    return seq if isinstance(seq, int) else None


def send_now(session_id: int, layer_message: dict[str, Any]) -> None:
    """The change and its seq are already committed, so a channel layer that is down (Redis
    restarting) must not fail the request that made it: every process's hub sends its sockets
    a fresh state once the layer is back, and a page that sees the next seq catches up."""
    layer = get_channel_layer()
    if layer is not None:
        try:
            async_to_sync(layer.group_send)(groups.session(session_id), layer_message)
        except Exception as exc:  # the layer's own errors (redis-py's) are not one class
            log.warning("live: event for room %s not sent (%s); sockets resync", session_id, exc)


def send_on_commit(session_id: int, layer_message: dict[str, Any]) -> None:
    """Nobody hears of a change that rolled back."""
    transaction.on_commit(lambda: send_now(session_id, layer_message))


async def asend(session_id: int, layer_message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(groups.session(session_id), layer_message)
