"""One listener per room per process: the fan-out that keeps a broadcast cheap.

Each daphne process joins a session's group once, with a channel of its own, and hands every
event to the sockets it holds for that session. A broadcast to 1,000 learners therefore costs
one channel-layer message per process instead of 1,000 (channels_redis delivers a few thousand
messages a second per process; writing to a local socket costs microseconds), and the text is
encoded once by the sender. Measured in bench/live.py.

When Redis restarts it forgets the groups and any event not yet read. Every command on the
layer is bounded by socket timeouts (settings.CHANNEL_LAYERS); a listener whose read fails
rejoins with backoff, and a restart no read saw fail shows as a new Redis run id (Hub._watch).
Either way the room's sockets get a fresh `state`, and pages catch up by seq
(docs/live-protocol.md).

A page notices a missed event only when a later one arrives. An event can also go missing
without the room's listener failing: a sender whose send fails (its connection to a restarted
Redis was stale) or lands while the room rejoins. So each room keeps the highest seq it has
heard, and every LIVE_LAYER_CHECK_SECONDS the hub compares it with the rooms' seqs in the
database (one query per process): a seq the room still has not heard LIVE_MISSED_EVENT_SECONDS
after the database had it was lost on the way, and the room's sockets get a fresh state.

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
from django.conf import settings

from live import events, groups, services

log = logging.getLogger(__name__)


class Member(Protocol):
    socket_id: str

    async def deliver_event(self, event: dict[str, Any]) -> None: ...

    async def resync(self) -> None: ...

    def request_presence(self) -> None: ...


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


async def server_run_id(layer: Any) -> str | None:
    """The run id of the Redis behind the layer (one per start of redis-server, so a restart,
    which forgets every group, shows as a new one); None for a layer without a server (the
    in-memory one of tests). Raises when Redis does not answer within LIVE_LAYER_TIMEOUT_SECONDS."""
    connection = getattr(layer, "connection", None)
    if connection is None:
        return None
    ids = []
    async with asyncio.timeout(_setting("LIVE_LAYER_TIMEOUT_SECONDS", 10)):
        for index in range(getattr(layer, "ring_size", 1)):
            info = await connection(index).info("server")
            ids.append(str(info["run_id"]))
    return ",".join(ids)


async def _drop_idle_connections(layer: Any) -> None:
    """Connections opened to a Redis that has since restarted are dead; close those not in use
    so the next command opens a fresh one instead of failing on a stale socket."""
    connection = getattr(layer, "connection", None)
    if connection is None:
        return
    for index in range(getattr(layer, "ring_size", 1)):
        with contextlib.suppress(Exception):
            await connection(index).connection_pool.disconnect(inuse_connections=False)


class _Room:
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.group = groups.session(session_id)
        self.members: set[Member] = set()
        self.ready = asyncio.Event()
        self.channel: str | None = None
        # The Redis run id the group was joined under (see Hub._watch); None until joined.
        self.run_id: str | None = None
        self.rejoining = asyncio.Lock()
        # The highest seq this room has heard (an event, or the database's when its sockets
        # were sent a state), and a seq the database has that the room has not heard yet, with
        # the loop time it was first seen (Hub._catch_up). None until the room has joined.
        self.heard: int | None = None
        self.unheard: tuple[int, float] | None = None
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
        # The layer's default prefix: channels_redis pops every local channel of a process
        # through one shared receive, keyed by that prefix; another would wait its turn.
        self.channel = await layer.new_channel()
        try:
            await self.rejoin(layer, resync=False)
            self.ready.set()
            while True:
                try:
                    event = await layer.receive(self.channel)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # A read timeout on an idle connection (redis-py sets one) loses nothing;
                    # a restart that a timeout hides is Hub._watch's to notice.
                    if type(exc).__name__ != "TimeoutError":
                        log.warning("live: channel layer failed (%s); room %s", exc, self.group)
                        await self.rejoin(layer, resync=True)
                    continue
                if event.get("type") == "live.event":
                    await self.fan_out(event)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._discard(layer))

    async def _discard(self, layer: Any) -> None:
        async with asyncio.timeout(_setting("LIVE_LAYER_TIMEOUT_SECONDS", 10)):
            await layer.group_discard(self.group, self.channel)

    async def rejoin(self, layer: Any, *, resync: bool, unless_run: str | None = None) -> None:
        """Join the room's group, trying again with backoff until Redis answers; with `resync`,
        send every socket here the whole room again. After a Redis restart or a dropped
        connection the group may be gone and events lost, and the page must never show a stale
        room. The run id is read before the group is joined: a restart in between leaves the old
        id, so the watch rejoins once more. `unless_run`: nothing to do if the room already
        joined under that run (a failure noticed twice, by the listener and by the watch)."""
        async with self.rejoining:
            if unless_run is not None and self.run_id == unless_run:
                return
            delay = 0.1
            while True:
                try:
                    run_id = await server_run_id(layer)
                    async with asyncio.timeout(_setting("LIVE_LAYER_TIMEOUT_SECONDS", 10)):
                        await layer.group_add(self.group, self.channel)
                    break
                except Exception as exc:
                    log.warning("live: cannot join room %s yet (%s)", self.group, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _setting("LIVE_LAYER_BACKOFF_SECONDS", 5))
            self.run_id = run_id
            if resync:
                log.info("live: room %s rejoined; %d sockets resync", self.group, len(self.members))
                await self.resync()
            elif self.heard is None:
                await self._hear_database()

    async def _hear_database(self) -> None:
        """Everything up to the database's seq now is in any state sent after this."""
        try:
            seq = await database_sync_to_async(events.current_seq)(self.session_id)
        except Exception:  # the next look at the database (Hub._catch_up) sets it
            log.exception("live: cannot read the seq of room %s", self.session_id)
            return
        self.hear(seq)

    def hear(self, seq: int | None) -> None:
        if seq is not None and (self.heard is None or seq > self.heard):
            self.heard = seq

    async def resync(self) -> None:
        """Send every socket here the whole room again."""
        await self._hear_database()
        for member in list(self.members):
            try:
                await member.resync()
            except Exception:
                log.exception("live: resync of a socket failed")

    async def catch_up(self, seq: int, now: float, grace: float) -> None:
        """`seq` is the room's in the database at loop time `now`: resync if an event the
        database had `grace` seconds ago has still not been heard (an event on its way after
        its commit arrives within milliseconds; one that takes `grace` is lost)."""
        if self.heard is None:
            self.heard = seq  # joined while the database could not be read: from now on
        if seq <= self.heard:
            self.unheard = None
            return
        if self.unheard is None or self.unheard[0] <= self.heard:
            self.unheard = (seq, now)  # a newer seq to wait for; the older one arrived
            return
        if now - self.unheard[1] < grace:
            return
        log.warning(
            "live: room %s never heard seq %d (has %d); %d sockets resync",
            self.group,
            self.unheard[0],
            self.heard,
            len(self.members),
        )
        self.unheard = None
        await self.resync()

    async def fan_out(self, event: dict[str, Any]) -> None:
        self.hear(event.get("seq"))
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
        self.watch: asyncio.Task[None] | None = None
        self.nothing_to_watch = False  # an in-memory layer: no server, no restarts

    async def join(self, session_id: int, member: Member) -> None:
        room = self.rooms.get(session_id)
        if room is None or room.task.done():
            room = self.rooms[session_id] = _Room(session_id)
        if not self.nothing_to_watch and (self.watch is None or self.watch.done()):
            self.watch = asyncio.create_task(self._watch())
        room.members.add(member)
        await room.ready.wait()

    async def _watch(self) -> None:
        """Notice a Redis restart that no listener saw fail: a listener whose connection was
        replaced between two reads goes on waiting on a server that has forgotten the room's
        group, and would hear nothing again. Redis gives each start a new run id; every
        LIVE_LAYER_CHECK_SECONDS the rooms joined under another one rejoin and resync. A layer
        without a server (in-memory) has nothing to watch."""
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(_setting("LIVE_LAYER_CHECK_SECONDS", 2))
            try:
                run_id = await server_run_id(layer)
            except Exception as exc:  # the listeners fail and rejoin, or the next look sees it
                log.debug("live: Redis did not tell its run id (%s)", exc)
                continue
            if run_id is None:
                self.nothing_to_watch = True
                return
            stale = [room for room in self.rooms.values() if room.run_id not in (None, run_id)]
            if stale:
                log.warning("live: Redis restarted (new run id); %d rooms rejoin", len(stale))
                await _drop_idle_connections(layer)
                for room in stale:
                    await room.rejoin(layer, resync=True, unless_run=run_id)
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Resync the rooms that missed an event no later one revealed (see the module's
        docstring). One query for every room of the process."""
        rooms = [room for room in self.rooms.values() if room.ready.is_set()]
        if not rooms:
            return
        try:
            seqs = await database_sync_to_async(events.room_seqs)([r.session_id for r in rooms])
        except Exception:
            log.exception("live: cannot read the rooms' seqs")
            return
        now = asyncio.get_running_loop().time()
        grace = _setting("LIVE_MISSED_EVENT_SECONDS", 5)
        for room in rooms:
            if room.session_id in seqs and self.rooms.get(room.session_id) is room:
                await room.catch_up(seqs[room.session_id], now, grace)

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
        tasks = [room.beat, room.task]
        if not self.rooms and self.watch is not None:
            tasks.append(self.watch)
            self.watch = None
        await _stop(*tasks)

    async def shutdown(self) -> None:
        """Stop listening for every room (a process shutting down; tests)."""
        rooms, self.rooms = list(self.rooms.values()), {}
        if self.watch is not None:
            watch, self.watch = self.watch, None
            await _stop(watch)
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
