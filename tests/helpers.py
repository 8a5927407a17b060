from __future__ import annotations

from django.db import connections

from delivery.notifications import notify_user


def notify_from_thread(user_id: int, message: str, **kwargs: str) -> None:
    """`notify_user` for a helper thread (async tests, Playwright tests).

    `notify_user` waits for the commit, which opens that thread's own database connection;
    closing it here lets the test database be dropped at the end of the run.
    """
    try:
        notify_user(user_id, message, **kwargs)
    finally:
        connections.close_all()
