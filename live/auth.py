"""Who is on a WebSocket: Channels' session and user middleware, reading on the room's threads.

Channels' AuthMiddleware reads the session and the user on asgiref's one sync thread; when a
class of 1,000 arrives at once, every handshake waits there behind the others (and daphne drops
those that wait past its handshake timeout). The same reading, on live/threads.py's pool.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware

from live.threads import pooled


class RoomAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        scope["user"]._wrapped = await pooled(get_user.func)(scope)


def RoomAuthMiddlewareStack(inner: Any) -> Any:
    return CookieMiddleware(SessionMiddleware(RoomAuthMiddleware(inner)))
