"""The coalescer: many changes, few broadcasts, and never a lost last change."""

from __future__ import annotations

import asyncio
from typing import Any

from live.coalesce import Coalescer


async def test_it_sends_once_for_a_burst_of_changes(settings: Any) -> None:
    settings.LIVE_COALESCE_SECONDS = 0.05
    coalescer = Coalescer()
    state = {"value": 0}
    sent: list[int] = []

    async def flush() -> None:
        sent.append(state["value"])

    for n in range(1, 101):
        state["value"] = n
        coalescer.request("poll", flush)
    await coalescer.drain()
    assert sent == [100]


async def test_a_change_during_a_flush_gets_a_flush_of_its_own(settings: Any) -> None:
    settings.LIVE_COALESCE_SECONDS = 0.01
    coalescer = Coalescer()
    state = {"value": 1}
    sent: list[int] = []
    reading, release = asyncio.Event(), asyncio.Event()

    async def flush() -> None:
        seen = state["value"]
        reading.set()
        await release.wait()  # reading and rendering take time; a vote lands meanwhile
        sent.append(seen)

    coalescer.request("poll", flush)
    await reading.wait()
    state["value"] = 2
    coalescer.request("poll", flush)
    release.set()
    await coalescer.drain()
    assert sent == [1, 2]


async def test_keys_are_independent_and_a_failing_flush_does_not_stop_others(
    settings: Any,
) -> None:
    settings.LIVE_COALESCE_SECONDS = 0.01
    coalescer = Coalescer()
    sent: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        sent.append("fine")

    coalescer.request("a", broken)
    coalescer.request("b", fine)
    await coalescer.drain()
    assert sent == ["fine"]
    coalescer.request("a", fine)  # the key is free again
    await coalescer.drain()
    assert sent == ["fine", "fine"]
