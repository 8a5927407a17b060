"""At most one broadcast per key per interval per process, always after the latest change.

Poll results, question votes and the trainer's who-is-here list change with every vote or
join; sending each would be one broadcast per learner. A change asks for a flush; the first
ask schedules one after the interval, later asks ride along, and an ask that comes while the
flush is reading schedules one more. So the last change is always sent, and at most
1/interval times a second.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

log = logging.getLogger(__name__)

Flush = Callable[[], Awaitable[None]]


def interval(key: Hashable = None) -> float:
    """Results and votes: a quarter of a second. Who is here (a list of up to every learner,
    seen by the trainer only): once a second, so a class arriving at once costs little."""
    fast = float(getattr(settings, "LIVE_COALESCE_SECONDS", 0.25))
    if isinstance(key, tuple) and key and key[0] == "presence":
        return max(fast, float(getattr(settings, "LIVE_PRESENCE_SECONDS", 1.0)))
    return fast


class Coalescer:
    def __init__(self) -> None:
        self.state: dict[Hashable, str] = {}
        self.tasks: dict[Hashable, asyncio.Task[None]] = {}

    def request(self, key: Hashable, flush: Flush) -> None:
        state = self.state.get(key)
        if state is None:
            self.state[key] = "waiting"
            self.tasks[key] = asyncio.create_task(self._run(key, flush))
        elif state == "running":
            self.state[key] = "again"

    async def _run(self, key: Hashable, flush: Flush) -> None:
        try:
            while True:
                await asyncio.sleep(interval(key))
                self.state[key] = "running"
                try:
                    await flush()
                except ObjectDoesNotExist:
                    pass  # the session went away meanwhile: nothing to say
                except Exception:
                    log.exception("live: coalesced broadcast %r failed", key)
                if self.state.get(key) != "again":
                    break
                self.state[key] = "waiting"
        finally:
            self.state.pop(key, None)
            self.tasks.pop(key, None)

    async def drain(self) -> None:
        """Wait for pending flushes (tests, and a clean shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)


_coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Coalescer] = (
    weakref.WeakKeyDictionary()
)


def coalescer() -> Coalescer:
    loop = asyncio.get_running_loop()
    if loop not in _coalescers:
        _coalescers[loop] = Coalescer()
    return _coalescers[loop]
