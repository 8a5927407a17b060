"""Presence and attendance: who is in the room, for how long, and who is counted late.

A user's first socket opens their presence, more tabs add nothing, the last one closing ends
it; a return within the grace period continues it (docs/live-protocol.md, "Attendance"). Each
process touches the sockets it holds (live/hub.py), and sockets nobody touched are closed as of
when they were last seen. Each function runs in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from live import events, rendering
from live.models import Attendance, Connection, LiveSession, Presence


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def grace() -> timedelta:
    """A socket that comes back within this long continues the same presence."""
    return timedelta(seconds=_setting("LIVE_RECONNECT_GRACE_SECONDS", 60))


def late_after() -> timedelta:
    return timedelta(minutes=_setting("LIVE_LATE_AFTER_MINUTES", 5))


@transaction.atomic
def join(session: LiveSession, user: Any, *, socket: str, learner: bool) -> bool:
    """Record an open socket; start (or, within the grace period, resume) the user's presence.

    Returns whether the set of people in the room changed. The attendance row is locked, so
    two tabs opening at once on two processes still make one presence.
    """
    now = timezone.now()
    attendance, created = Attendance.objects.get_or_create(
        session=session,
        user=user,
        defaults={
            "first_joined_at": now,
            "late": learner and now > session.starts_at + late_after(),
        },
    )
    if created:
        # A first join (most of a class arriving): the new row is this transaction's until it
        # commits, so nobody else holds a presence of it; another tab's insert waits on ours.
        Connection.objects.create(session=session, user=user, channel_name=socket)
        Presence.objects.create(attendance=attendance, joined_at=now)
        return True
    attendance = Attendance.objects.select_for_update().get(pk=attendance.pk)
    Connection.objects.create(session=session, user=user, channel_name=socket)
    # At most one presence is open, and it is the latest (leave closes them all).
    last = attendance.presences.order_by("-joined_at").first()
    if last is not None and last.left_at is None:
        return False
    if last is not None and last.left_at is not None and now - last.left_at <= grace():
        last.left_at = None
        last.save(update_fields=["left_at"])
    else:
        Presence.objects.create(attendance=attendance, joined_at=now)
    attendance.last_left_at = None
    attendance.save(update_fields=["last_left_at"])
    return True


@transaction.atomic
def leave(session_id: int, user: Any, *, socket: str, at: datetime | None = None) -> bool:
    """Forget a closed socket; when it was the user's last one, their presence ends (now, or
    `at` for a socket found dead). Returns whether the set of people in the room changed."""
    deleted, _ = Connection.objects.filter(channel_name=socket).delete()
    if not deleted:
        return False  # the session ended and closed everything already
    attendance = (
        Attendance.objects.select_for_update().filter(session_id=session_id, user=user).first()
    )
    if attendance is None:
        return False
    if Connection.objects.filter(session_id=session_id, user=user).exists():
        return False
    left = at or timezone.now()
    closed = attendance.presences.filter(left_at__isnull=True).update(left_at=left)
    attendance.last_left_at = left
    attendance.save(update_fields=["last_left_at"])
    return bool(closed)


def heartbeat() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "LIVE_HEARTBEAT_SECONDS", 30)))


def touch_connections(sockets: Sequence[str]) -> int:
    """The process holding these sockets is alive (one UPDATE per room per heartbeat)."""
    return Connection.objects.filter(channel_name__in=list(sockets)).update(seen_at=timezone.now())


def prune_connections(session_id: int) -> bool:
    """Sockets whose process stopped touching them (it crashed, or was restarted without
    closing them) are closed as of when they were last seen. Returns whether anyone left."""
    cutoff = timezone.now() - 3 * heartbeat()
    changed = False
    stale = Connection.objects.filter(session_id=session_id, seen_at__lt=cutoff).select_related(
        "user"
    )
    for connection in stale:
        changed |= leave(
            session_id, connection.user, socket=connection.channel_name, at=connection.seen_at
        )
    return changed


def presence_event(session: LiveSession) -> dict[str, Any]:
    """Who is here, for the trainers (a refresh: it takes no sequence number)."""
    text = events.encode(
        "presence",
        events.current_seq(session.pk),
        refresh=True,
        html=rendering.presence(session),
    )
    return events.message(None, staff_text=text, audience="staff")


def finalise_attendance(session: LiveSession) -> None:
    until = session.ended_at or timezone.now()
    attendances = list(Attendance.objects.filter(session=session).prefetch_related("presences"))
    for attendance in attendances:
        presences = list(attendance.presences.all())
        attendance.seconds = sum(p.seconds(until) for p in presences)
        attendance.last_left_at = max((p.left_at or until for p in presences), default=until)
    Attendance.objects.bulk_update(attendances, ["seconds", "last_left_at"])
