from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, JsonWebsocketConsumer
from django import forms as django_forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone

from delivery.notifications import user_group
from live import events, forms, rendering, services
from live.coalesce import coalescer
from live.hub import hub
from live.models import LiveSession
from live.permissions import RoomRole, access_live_session, room_admission
from live.threads import pooled

log = logging.getLogger(__name__)


class NotificationConsumer(JsonWebsocketConsumer):
    """Each signed-in page holds one of these; notices for its user arrive rendered."""

    def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.close(code=4401)
            return
        self.group = user_group(user.pk)
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The channel only talks server to client: anything sent up (JSON or not, text or
        # binary, which the JSON consumer would raise on) is answered, never parsed or acted on.
        self.send_json({"type": "error", "error": "read_only_channel"})

    def notification(self, event: dict[str, Any]) -> None:
        html = render_to_string("live/_notification.html", event)
        self.send_json({"type": "notification", "level": event["level"], "html": html})


# The live room ------------------------------------------------------------------------------

# Close codes (docs/live-protocol.md).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_ENDED = services.CLOSE_ENDED
CLOSE_TOO_EARLY = 4425

_HOST = f"{socket.gethostname()}.{os.getpid()}"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


@dataclass(frozen=True)
class Command:
    form: type[django_forms.Form]
    staff_only: bool
    run: Callable[[LiveRoomConsumer, dict[str, Any]], Any]


class LiveRoomConsumer(AsyncWebsocketConsumer):
    """One socket in a session's room.

    Async, not the house default of sync, because the room is a broadcast hot path: the hub
    (live/hub.py) writes each event to hundreds of sockets per process, which a sync consumer
    would do one thread hop at a time (bench/live.py). Database work still runs in threads,
    through the services.
    """

    # The hub listens for the room; a socket needs no channel of its own.
    channel_layer_alias = "live-room-sockets-have-no-channel"

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.socket_id = f"{_HOST}.{uuid.uuid4().hex}"
        self.joined = False  # recorded in the database (a Connection row)
        self.in_room = False  # hearing the room's events through the hub
        self.ready = False
        self.pending: list[dict[str, Any]] = []
        self.unacked = 0
        self.tokens = _setting("LIVE_MESSAGE_BURST", 30)
        self.refilled = time.monotonic()
        # Accept first, decide after: a refusal is a close code the page can read (a refused
        # handshake reaches it as a bare 1006), and a class arriving at once never runs into
        # daphne's handshake timeout while the database work queues.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.user_id: int = user.pk
        # Listen first (events are held until the snapshot has gone), then admit, record and
        # read the room in one trip to the database thread.
        self.is_staff = False
        self.in_room = True
        await hub().join(self.session_id, self)
        refusal, changed, snapshot = await pooled(self._enter)(user)
        if refusal:
            await self.leave_room()
            await self.close(code=refusal)
            return
        self.joined = True
        await self.send_snapshot(snapshot)
        if changed:
            self.request_presence()

    def _enter(self, user: Any) -> tuple[int, bool, tuple[int, str] | None]:
        refusal, session, role = self._admit(user)
        if refusal or session is None:
            return refusal, False, None
        self.session = session
        self.is_staff = role == RoomRole.TRAINER
        changed = services.join(session, user, socket=self.socket_id, learner=not self.is_staff)
        return 0, changed, self._snapshot()

    def _admit(self, user: Any) -> tuple[int, LiveSession | None, RoomRole | None]:
        admitted = room_admission(user, self.session_id)
        if admitted is None:  # rare: the longer way, to tell the page why
            try:
                access_live_session(user, self.session_id)
            except Http404:
                return CLOSE_NOT_FOUND, None, None
            return CLOSE_FORBIDDEN, None, None
        session, role = admitted
        now = timezone.now()
        if session.is_over(now):
            return CLOSE_ENDED, None, None
        if role == RoomRole.LEARNER and now < session.opens_at():
            return CLOSE_TOO_EARLY, None, None
        return 0, session, role

    async def disconnect(self, code: int) -> None:
        await self.leave_room()
        if not getattr(self, "joined", False):
            return
        self.joined = False
        changed = await pooled(services.leave)(self.session_id, self.user, socket=self.socket_id)
        if changed:
            self.request_presence()

    async def leave_room(self) -> None:
        if getattr(self, "in_room", False):
            self.in_room = False
            await hub().leave(self.session_id, self)

    # Sending ------------------------------------------------------------------------------

    async def deliver_event(self, event: dict[str, Any]) -> None:
        """An event from the hub (see live/events.py for its shape): the trainer's or the
        learners' text, for everyone, trainers only or one user; held until the snapshot."""
        if not self.in_room:
            return
        if not self.ready:
            self.pending.append(event)
            return
        if event.get("audience") == "staff" and not self.is_staff:
            return
        user_id = event.get("user_id")
        if user_id is not None and user_id != self.user_id:
            return
        text = (event.get("staff_text") if self.is_staff else None) or event.get("text")
        if text:
            await self.deliver(text)
        if event.get("close"):
            await self.close_room(event["close"])

    async def deliver(self, text: str) -> None:
        """A page that stops acknowledging is cut off after LIVE_MAX_UNACKED events, so a
        stalled reader never holds more than that in memory and never holds up the room:
        the hub only ever writes to a socket's buffer."""
        if not self.in_room:
            return
        self.unacked += 1
        if self.unacked > _setting("LIVE_MAX_UNACKED", 200):
            await self.close_room(CLOSE_TOO_SLOW)
            return
        await self.send(text_data=text)

    async def close_room(self, code: int) -> None:
        """Closes the socket; the disconnect that follows records the leaving."""
        if self.in_room:
            await self.close(code=code)
            await self.leave_room()

    async def resync(self) -> None:
        """The hub may have missed events (the layer failed): send the whole room again."""
        if self.in_room:
            await self.send_snapshot()

    async def send_snapshot(self, snapshot: tuple[int, str] | None = None) -> None:
        seq, html = snapshot or await pooled(self._snapshot)()
        self.ready = False
        await self.send(
            text_data=events.encode(
                "state",
                seq,
                role=str(RoomRole.TRAINER if self.is_staff else RoomRole.LEARNER),
                html=html,
            )
        )
        self.unacked = 0
        self.ready = True
        pending, self.pending = self.pending, []
        for event in pending:  # the page drops those the snapshot already holds (by seq)
            await self.deliver_event(event)

    def _snapshot(self) -> tuple[int, str]:
        session = LiveSession.objects.select_related("cohort__course", "pushed_resource").get(
            pk=self.session_id
        )
        return session.seq, rendering.snapshot(session, self.user, staff=self.is_staff)

    async def error(self, code: str, message: str, ref: Any = None, **extra: Any) -> None:
        payload: dict[str, Any] = {"type": "error", "error": code, "message": message}
        if ref is not None:
            payload["ref"] = ref
        payload.update(extra)
        await self.send(text_data=json.dumps(payload))

    # Receiving ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.in_room:
            return
        if text_data is None:
            await self.error("malformed", "Send JSON text frames.")
            return
        if len(text_data) > _setting("LIVE_MAX_FRAME_BYTES", 8192):
            await self.error("too_large", "That message is too large.")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            content = None
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.error("malformed", 'Send a JSON object with a "type".')
            return
        # Acknowledgements cost nothing and must not crowd out commands.
        if content["type"] != "ack" and not self._spend_token():
            await self.error("rate_limited", "Too many messages; slow down.", retry_after=1)
            return
        ref = content.get("ref")
        if not isinstance(ref, (str, int)) or isinstance(ref, bool) or len(str(ref)) > 100:
            ref = None  # echoed back, so only a short string or number
        command = COMMANDS.get(content["type"])
        if command is None:
            await self.error("unknown_type", f"Unknown type {content['type'][:40]!r}.", ref)
            return
        if command.staff_only and not self.is_staff:
            await self.error("forbidden", "Only the trainer can do that.", ref)
            return
        form = command.form(content)
        if not form.is_valid():
            fields = {k: [str(e) for e in v] for k, v in form.errors.items()}
            await self.error("invalid", "Check the message fields.", ref, fields=fields)
            return
        try:
            await command.run(self, form.cleaned_data)
        except ValidationError as exc:
            code = exc.code if getattr(exc, "code", None) else "invalid"
            params = getattr(exc, "params", None) or {}
            message = exc.messages[0] if exc.messages else "Not allowed."
            extra = {"retry_after": params["retry_after"]} if "retry_after" in params else {}
            await self.error(str(code), message, ref, **extra)
        except PermissionDenied:
            await self.error("forbidden", "Not allowed.", ref)

    def _spend_token(self) -> bool:
        """A per-socket budget for any message (LIVE_MESSAGES_PER_SECOND, bursts allowed)."""
        now = time.monotonic()
        rate = _setting("LIVE_MESSAGES_PER_SECOND", 10)
        burst = _setting("LIVE_MESSAGE_BURST", 30)
        self.tokens = min(burst, self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    # Coalesced refreshes -------------------------------------------------------------------

    def request_presence(self) -> None:
        session_id = self.session_id

        async def flush() -> None:
            message = await database_sync_to_async(_presence_refresh)(session_id)
            await events.asend(session_id, message)

        coalescer().request(("presence", session_id), flush)

    def request_questions(self) -> None:
        session_id = self.session_id

        async def flush() -> None:
            message = await database_sync_to_async(_questions_refresh)(session_id)
            await events.asend(session_id, message)

        coalescer().request(("questions", session_id), flush)

    def request_results(self, poll_id: int) -> None:
        session_id = self.session_id

        async def flush() -> None:
            message = await database_sync_to_async(_results_refresh)(session_id, poll_id)
            if message is not None:
                await events.asend(session_id, message)

        coalescer().request(("poll", poll_id), flush)


def _fresh(session_id: int) -> LiveSession:
    return LiveSession.objects.select_related("cohort__course", "pushed_resource").get(
        pk=session_id
    )


def _presence_refresh(session_id: int) -> dict[str, Any]:
    return services.presence_event(_fresh(session_id))


def _questions_refresh(session_id: int) -> dict[str, Any]:
    session = _fresh(session_id)
    return services.questions_event(session, session.seq, refresh=True)


def _results_refresh(session_id: int, poll_id: int) -> dict[str, Any] | None:
    return services.results_event(_fresh(session_id), poll_id)


# Commands: what each message type does ---------------------------------------------------------


def _in_thread(function: Callable[..., Any]) -> Callable[..., Any]:
    return database_sync_to_async(function)


async def _sync(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await c.send_snapshot()


async def _ack(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    c.unacked = 0


async def _chat(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.post_chat)(c.session, c.user, data["text"], staff=c.is_staff)


async def _chat_delete(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.delete_chat)(c.session, by=c.user, message_id=data["message_id"])


async def _mute(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.set_muted)(
        c.session, by=c.user, user_id=data["user_id"], muted=data["muted"]
    )


async def _slow_mode(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.set_slow_mode)(c.session, by=c.user, seconds=data["seconds"])


async def _ask(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.ask_question)(
        c.session, c.user, data["text"], anonymous=data["anonymous"]
    )


async def _upvote(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.upvote_question)(c.session, c.user, data["question_id"])
    c.request_questions()


async def _answer(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.answer_question)(
        c.session, by=c.user, question_id=data["question_id"]
    )


async def _hand_raise(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.raise_hand)(c.session, c.user)


async def _hand_lower(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.lower_hand)(c.session, c.user)


async def _hand_lower_for(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.lower_hand_for)(c.session, by=c.user, user_id=data["user_id"])


async def _hand_next(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.next_hand)(c.session, by=c.user)


async def _hand_clear(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.clear_hands)(c.session, by=c.user)


async def _poll_open(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.open_poll)(
        c.session,
        by=c.user,
        question=data["question"],
        kind=data["kind"],
        options=data["options"],
        correct=data["correct"],
    )


async def _vote(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.vote)(
        c.session, c.user, poll_id=data["poll_id"], option_ids=data["options"]
    )
    c.request_results(data["poll_id"])


async def _poll_close(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.close_poll)(c.session, by=c.user, poll_id=data["poll_id"])


async def _push(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.push_resource)(c.session, by=c.user, resource_id=data["resource_id"])


async def _end(c: LiveRoomConsumer, data: dict[str, Any]) -> None:
    await _in_thread(services.end_session)(c.session, by=c.user)


COMMANDS: dict[str, Command] = {
    "sync": Command(forms.EmptyForm, False, _sync),
    "ack": Command(forms.AckForm, False, _ack),
    "chat": Command(forms.ChatForm, False, _chat),
    "chat_delete": Command(forms.MessageRefForm, True, _chat_delete),
    "mute": Command(forms.MuteForm, True, _mute),
    "slow_mode": Command(forms.SlowModeForm, True, _slow_mode),
    "ask": Command(forms.AskForm, False, _ask),
    "upvote": Command(forms.QuestionRefForm, False, _upvote),
    "answer": Command(forms.QuestionRefForm, True, _answer),
    "hand_raise": Command(forms.EmptyForm, False, _hand_raise),
    "hand_lower": Command(forms.EmptyForm, False, _hand_lower),
    "hand_lower_for": Command(forms.UserRefForm, True, _hand_lower_for),
    "hand_next": Command(forms.EmptyForm, True, _hand_next),
    "hand_clear": Command(forms.EmptyForm, True, _hand_clear),
    "poll_open": Command(forms.PollOpenForm, True, _poll_open),
    "vote": Command(forms.VoteForm, False, _vote),
    "poll_close": Command(forms.PollRefForm, True, _poll_close),
    "push": Command(forms.PushForm, True, _push),
    "end": Command(forms.EmptyForm, True, _end),
}
