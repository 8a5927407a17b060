"""Channel-layer group names of the live app, in one place (pure: no ORM, no I/O)."""

from __future__ import annotations


def session(session_id: int) -> str:
    """Every daphne process with a socket in the room listens on this group (see live/hub.py)."""
    return f"live.session.{session_id}"
