"""One listener per room per process: the fan-out that keeps a broadcast cheap.

Each daphne process joins a session's group once, with a channel of its own, and hands every
event to the sockets it holds for that session. A broadcast to 1,000 learners therefore costs
one channel-layer message per process instead of 1,000 (channels_redis delivers a few thousand
messages a second per process; writing to a local socket costs microseconds), and the text is
encoded once by the sender. Measured in bench/live.py.

Hubs are per event loop: daphne runs one; each async test runs its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from live import groups, services

log = logging.getLogger(__name__)


class Member(Protocol):
    socket_id: str

    async def deliver_event(self, event: dict[str, Any]) -> None: ...

    async def resync(self) -> None: ...

    def request_presence(self) -> None: ...


class _Room:
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.members: set[Member] = set()
        self.ready = asyncio.Event()
        self.channel: str | None = None
        self.task: asyncio.Task[None] = asyncio.create_task(self._listen())
        self.beat: asyncio.Task[None] = asyncio.create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        """Tell the database this process still holds its sockets, and close the ones another
        process left behind when it died (their users stop being counted as here)."""
        while True:
            await asyncio.sleep(services.heartbeat().total_seconds())
            sockets = [m.socket_id for m in self.members]
            try:
                await database_sync_to_async(services.touch_connections)(sockets)
                if await database_sync_to_async(services.prune_connections)(self.session_id):
                    for member in list(self.members)[:1]:
                        member.request_presence()
            except Exception:
                log.exception("live: heartbeat of room %s failed", self.session_id)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        if layer is None:  # pragma: no cover - settings always configure one
            raise RuntimeError("live rooms need a channel layer")
        group = groups.session(self.session_id)
        # The layer's default prefix: channels_redis pops every local channel of a process
        # through one shared receive, keyed by that prefix; another would wait its turn.
        self.channel = await layer.new_channel()
        await layer.group_add(group, self.channel)
        self.ready.set()
        failures = 0
        try:
            while True:
                try:
                    event = await layer.receive(self.channel)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures = await self._recover(layer, group, exc, failures)
                    continue
                failures = 0
                if event.get("type") == "live.event":
                    await self.fan_out(event)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(layer.group_discard(group, self.channel))

    async def _recover(self, layer: Any, group: str, exc: Exception, failures: int) -> int:
        """The layer failed under us. A read timeout on an idle connection (redis-py 8 sets
        one by default) loses nothing; anything else (Redis restarted, the connection dropped)
        may have lost events and the group itself, so the group is joined again and every
        socket here gets a fresh snapshot: the page never shows a stale room."""
        benign = type(exc).__name__ == "TimeoutError"
        if not benign:
            log.warning("live: channel layer failed (%s); rejoining room %s", exc, group)
            await asyncio.sleep(min(0.1 * 2**failures, 5))
        try:
            await layer.group_add(group, self.channel)
        except Exception:
            return failures + 1
        if not benign:
            for member in list(self.members):
                with contextlib.suppress(Exception):
                    await member.resync()
        return 0

    async def fan_out(self, event: dict[str, Any]) -> None:
        for member in list(self.members):
            try:
                await member.deliver_event(event)
            except Exception:  # one broken socket must not silence the room
                log.exception("live: delivery to a socket failed")


async def _stop(*tasks: asyncio.Task[None]) -> None:
    """Cancel a room's tasks and wait until they have finished.

    Waited for with asyncio.wait, not by awaiting each task inside suppress(CancelledError):
    that would also swallow a cancellation of the caller itself (a consumer being torn down
    while it leaves), which then carries on as if nothing had happened. A task that failed
    with anything but its cancellation is logged, never lost."""
    for task in tasks:
        task.cancel()
    others = {task for task in tasks if task is not asyncio.current_task()}
    if not others:
        return
    await asyncio.wait(others)
    for task in others:
        if not task.cancelled() and task.exception() is not None:
            log.error("live: a room task failed", exc_info=task.exception())


class Hub:
    def __init__(self) -> None:
        self.rooms: dict[int, _Room] = {}

    async def join(self, session_id: int, member: Member) -> None:
        room = self.rooms.get(session_id)
        if room is None or room.task.done():
            room = self.rooms[session_id] = _Room(session_id)
        room.members.add(member)
        await room.ready.wait()

    async def leave(self, session_id: int, member: Member) -> None:
        """Forget a socket; the last one out stops the room's listener. Safe to call from the
        listener itself (a socket closed while an event is being fanned out)."""
        room = self.rooms.get(session_id)
        if room is None or member not in room.members:
            return
        room.members.discard(member)
        if room.members:
            return
        del self.rooms[session_id]
        await _stop(room.beat, room.task)

    async def shutdown(self) -> None:
        """Stop listening for every room (a process shutting down; tests)."""
        rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            room.members.clear()
            await _stop(room.beat, room.task)

    def count(self, session_id: int) -> int:
        room = self.rooms.get(session_id)
        return len(room.members) if room else 0


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
