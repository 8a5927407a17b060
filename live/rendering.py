"""The room's partials, rendered once per event (not once per socket).

Each panel has a stable id; pushed with `oob=True` it carries `hx-swap-oob`, so static/js/live.js
hands it to htmx, which swaps it in place. `staff` renders the trainer's variant (names of
anonymous askers, moderation buttons).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from live import selectors
from live.models import ChatMessage, LiveSession, Poll


def _render(name: str, **context: Any) -> str:
    return render_to_string(f"live/{name}", context)


def chat_message(message: ChatMessage, *, staff: bool) -> str:
    """One message, appended to the chat list."""
    return _render("_chat_append.html", message=message, staff=staff)


def chat_message_replaced(message: ChatMessage, *, staff: bool) -> str:
    return _render("_chat_message.html", message=message, staff=staff, oob=True)


def chat_mode(session: LiveSession) -> str:
    return _render("_chat_mode.html", session=session, oob=True)


def mute_notice(muted: bool) -> str:
    return _render("_mute_notice.html", muted=muted, oob=True)


def questions(
    session: LiveSession,
    *,
    staff: bool,
    rows: list[Any] | None = None,
    mine: selectors.MyQuestions | None = None,
) -> str:
    """Without `mine` (a broadcast), every open question carries each state its upvote control
    can be in, and each page shows its own (static/js/live.js, from `my_questions`); with it,
    only what that viewer should see."""
    rows = selectors.questions(session) if rows is None else rows
    return _render(
        "_questions.html",
        questions=rows,
        staff=staff,
        mine=mine or selectors.MyQuestions(),
        shared=mine is None,
        oob=True,
    )


def my_questions(mine: selectors.MyQuestions) -> str:
    return _render("_my_questions.html", mine=mine, oob=True)


def hands(session: LiveSession, *, staff: bool, rows: list[Any] | None = None) -> str:
    rows = selectors.hands(session) if rows is None else rows
    return _render("_hands.html", hands=rows, staff=staff, oob=True)


def hand_button(raised: bool) -> str:
    return _render("_hand_button.html", raised=raised, oob=True)


def poll_body(poll: Poll | None, *, staff: bool, voted: bool = False) -> str:
    return _render("_poll_body.html", poll=poll, staff=staff, voted=voted, oob=True)


def poll_results(results: selectors.PollResults | None, *, staff: bool) -> str:
    return _render("_poll_results.html", results=results, staff=staff, oob=True)


def pushed(session: LiveSession) -> str:
    return _render("_pushed.html", session=session, oob=True)


def presence(session: LiveSession) -> str:
    return _render(
        "_presence.html",
        present=selectors.present_users(session),
        muted_ids=selectors.muted_ids(session),
        oob=True,
    )


def ended(session: LiveSession) -> str:
    return _render("_ended.html", session=session, oob=True)


def room_context(session: LiveSession, user: Any, *, staff: bool) -> dict[str, Any]:
    """Everything the room shows one viewer: the page and the catch-up snapshot share it."""
    poll = selectors.current_poll(session)
    hands = selectors.hands(session)
    mine = selectors.MyQuestions() if staff else selectors.my_questions(session, user)
    return {
        "session": session,
        "staff": staff,
        "chat": selectors.recent_chat(session),
        "muted": (not staff) and selectors.is_muted(session, user),
        "questions": selectors.questions(session),
        "mine": mine,
        "shared": False,
        "hands": hands,
        "raised": any(h.user_id == user.pk for h in hands),
        "poll": poll,
        "voted": bool(poll) and not staff and selectors.has_voted(poll, user),  # type: ignore[arg-type]
        "results": selectors.poll_results(poll) if poll else None,
        "present": selectors.present_users(session) if staff else [],
        "muted_ids": selectors.muted_ids(session) if staff else set(),
    }


def snapshot(session: LiveSession, user: Any, *, staff: bool) -> str:
    """Every panel of the room as out-of-band swaps: what a (re)connecting page needs."""
    return _render("_snapshot.html", oob=True, **room_context(session, user, staff=staff))
