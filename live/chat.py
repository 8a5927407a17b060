"""The room's chat: messages, their removal, muting and slow mode.

Each change runs in one transaction and is sent to the room after the commit (live/events.py);
a refused message raises `ValidationError` with the `code` the consumer reports.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from live import events, rendering, selectors
from live.attendance import presence_event
from live.models import ChatMessage, LiveSession, Mute
from live.permissions import RoomRole, room_role
from live.text import clean_text

log = logging.getLogger(__name__)


CHAT_MAX_LENGTH = 500


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _chat_rate_check(session: LiveSession, user: Any) -> None:
    """At most LIVE_CHAT_MESSAGES per LIVE_CHAT_WINDOW_SECONDS per user, across every tab and
    process (the counter is in the cache: Redis in services mode)."""
    limit = _setting("LIVE_CHAT_MESSAGES", 5)
    window = _setting("LIVE_CHAT_WINDOW_SECONDS", 10)
    bucket = int(timezone.now().timestamp()) // window
    key = f"live:chat-rate:{session.pk}:{user.pk}:{bucket}"
    try:
        cache.add(key, 0, timeout=window * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window * 2)
            count = 1
    except redis.RedisError as exc:
        # Redis restarting must not lose the message (the socket's own token bucket still
        # limits it): the counter is a guard, the chat is what the room is for.
        log.warning("live: chat rate counter unavailable (%s); letting the message through", exc)
        return
    if count > limit:
        retry = window - int(timezone.now().timestamp()) % window
        raise ValidationError(
            "You are sending messages too quickly.",
            code="rate_limited",
            params={"retry_after": retry},
        )


@transaction.atomic
def post_chat(session: LiveSession, user: Any, text: str, *, staff: bool) -> ChatMessage:
    """A chat message from someone in the room. Learners may be muted, slowed and rate-limited;
    trainers are not."""
    text = clean_text(text, limit=CHAT_MAX_LENGTH)
    if not staff:
        if Mute.objects.filter(session=session, user=user).exists():
            raise ValidationError("The trainer has muted you in the chat.", code="muted")
        slow = LiveSession.objects.values_list("slow_mode_seconds", flat=True).get(pk=session.pk)
        if slow:
            last = (
                ChatMessage.objects.filter(session=session, author=user)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            if last is not None and timezone.now() - last < timedelta(seconds=slow):
                wait = slow - int((timezone.now() - last).total_seconds())
                raise ValidationError(
                    f"Slow mode: wait {wait} s.", code="slow_mode", params={"retry_after": wait}
                )
        _chat_rate_check(session, user)
    message = ChatMessage.objects.create(session=session, author=user, text=text)
    seq = events.next_seq(session.pk)
    fields = {"id": message.pk, "author": selectors.display_name(user)}
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("chat", seq, html=rendering.chat_message(message, staff=False), **fields),
            staff_text=events.encode(
                "chat", seq, html=rendering.chat_message(message, staff=True), **fields
            ),
        ),
    )
    return message


@transaction.atomic
def delete_chat(session: LiveSession, *, by: Any, message_id: int) -> ChatMessage:
    try:
        message = ChatMessage.objects.select_related("author").get(session=session, pk=message_id)
    except ChatMessage.DoesNotExist:
        raise ValidationError("No such message.", code="not_found") from None
    if message.deleted_at is None:
        message.deleted_at = timezone.now()
        message.deleted_by = by
        message.save(update_fields=["deleted_at", "deleted_by"])
    seq = events.next_seq(session.pk)
    html = rendering.chat_message_replaced(message, staff=False)
    events.send_on_commit(
        session.pk, events.message(events.encode("chat_deleted", seq, id=message.pk, html=html))
    )
    return message


@transaction.atomic
def set_muted(session: LiveSession, *, by: Any, user_id: int, muted: bool) -> None:
    """Mute or unmute a learner in this session's chat; their own pages are told."""
    user = session.cohort.enrolments.filter(learner_id=user_id).select_related("learner").first()
    if user is None or room_role(user.learner, session) != RoomRole.LEARNER:
        raise ValidationError("Only learners of this cohort can be muted.", code="not_found")
    if muted:
        Mute.objects.get_or_create(session=session, user_id=user_id, defaults={"muted_by": by})
    else:
        Mute.objects.filter(session=session, user_id=user_id).delete()
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("muted", None, muted=muted, html=rendering.mute_notice(muted)),
            user_id=user_id,
        ),
    )
    events.send_on_commit(session.pk, presence_event(session))


@transaction.atomic
def set_slow_mode(session: LiveSession, *, by: Any, seconds: int) -> None:
    if not 0 <= seconds <= 600:
        raise ValidationError("Slow mode is 0 to 600 seconds.", code="invalid")
    LiveSession.objects.filter(pk=session.pk).update(slow_mode_seconds=seconds)
    session.slow_mode_seconds = seconds
    seq = events.next_seq(session.pk)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode(
                "chat_mode", seq, slow_mode_seconds=seconds, html=rendering.chat_mode(session)
            )
        ),
    )
