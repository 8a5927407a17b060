from __future__ import annotations

from django.db import connections

from delivery.notifications import notify_user

# How long a test waits for something to happen (a message, a page, a process) before it fails.
# Tests wait on the event itself and go on the moment it happens, so a generous limit costs a
# passing run nothing, and a busy machine (a CPU hog, a parallel run) only makes it slower.
EVENT_WAIT = 60.0


def notify_from_thread(user_id: int, message: str, **kwargs: str) -> None:
    """`notify_user` for a helper thread (async tests, Playwright tests).

    `notify_user` waits for the commit, which opens that thread's own database connection;
    closing it here lets the test database be dropped at the end of the run.
    """
    try:
        notify_user(user_id, message, **kwargs)
    finally:
        connections.close_all()
