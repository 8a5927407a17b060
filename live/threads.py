"""The room's own database threads.

Signing a socket in, entering the room, catching up and leaving, each self-contained (its own
transaction), run on these threads instead of asgiref's one sync thread, where a class arriving
at once would queue every connect's database work behind the others and daphne would drop
handshakes that waited too long (bench/live.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLite

# A few: each holds a database connection, and Python runs one thread at a time anyway; what
# they overlap is the waiting on the database.
ROOM_THREADS = 4
_room_threads: ThreadPoolExecutor | None = None


def _on_every_room_thread(pool: ThreadPoolExecutor, work: Callable[[], Any]) -> None:
    """Run `work` once on each of the pool's threads: every task waits at a barrier until all
    have started, so no thread takes two (and a new pool starts all its threads)."""
    barrier = threading.Barrier(ROOM_THREADS)

    def task() -> None:
        barrier.wait(timeout=60)
        work()

    for done in [pool.submit(task) for _ in range(ROOM_THREADS)]:
        done.result()


def _room_pool() -> ThreadPoolExecutor:
    global _room_threads
    if _room_threads is None:
        pool = ThreadPoolExecutor(max_workers=ROOM_THREADS, thread_name_prefix="live-room")
        _on_every_room_thread(pool, lambda: None)
        _room_threads = pool
    return _room_threads


def pooled(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` on the room's threads. Not on the in-memory SQLite of tests: its connections
    share one cache, where two writers at once fail at once instead of waiting their turn."""
    database = connections["default"]
    if isinstance(database, SQLite) and database.is_in_memory_db():
        return database_sync_to_async(function)
    return database_sync_to_async(function, thread_sensitive=False, executor=_room_pool())


def close_room_connections() -> None:
    """Close the database connection each room thread holds (tests, before the test database
    is dropped)."""
    if _room_threads is not None:
        _on_every_room_thread(_room_threads, connections.close_all)
