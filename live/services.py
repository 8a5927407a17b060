"""Every change to a live session, by concern, under the one name callers know.

Each function runs in one transaction and sends its event to the room only after the commit
(live/events.py). Rule violations raise `ValidationError` with a `code` the consumer reports as
an error event (docs/live-protocol.md lists them). The work lives in modules of its own, each
importing only those before it:

- live/text.py: plain text the room accepts (`clean_text`);
- live/attendance.py: presence, heartbeats, attendance minutes;
- live/sessions.py: scheduling, pushing a resource, ending a session;
- live/chat.py: messages, removal, muting, slow mode;
- live/questions.py: questions and their upvotes;
- live/hands.py: the queue of raised hands;
- live/polls.py: polls, votes and results.
"""

from __future__ import annotations

from live.attendance import (
    finalise_attendance,
    grace,
    heartbeat,
    join,
    late_after,
    leave,
    presence_event,
    prune_connections,
    touch_connections,
)
from live.chat import CHAT_MAX_LENGTH, delete_chat, post_chat, set_muted, set_slow_mode
from live.hands import clear_hands, lower_hand, lower_hand_for, next_hand, raise_hand
from live.polls import close_poll, open_poll, poll_event, results_event, vote
from live.questions import (
    QUESTION_MAX_LENGTH,
    answer_question,
    ask_question,
    my_questions_event,
    questions_event,
    upvote_question,
)
from live.sessions import (
    CLOSE_ENDED,
    check_session_fields,
    end_session,
    push_resource,
    schedule_session,
    update_session,
)
from live.text import clean_text

__all__ = [
    "CHAT_MAX_LENGTH",
    "CLOSE_ENDED",
    "QUESTION_MAX_LENGTH",
    "answer_question",
    "ask_question",
    "check_session_fields",
    "clean_text",
    "clear_hands",
    "close_poll",
    "delete_chat",
    "end_session",
    "finalise_attendance",
    "grace",
    "heartbeat",
    "join",
    "late_after",
    "leave",
    "lower_hand",
    "lower_hand_for",
    "my_questions_event",
    "next_hand",
    "open_poll",
    "poll_event",
    "post_chat",
    "presence_event",
    "prune_connections",
    "push_resource",
    "questions_event",
    "raise_hand",
    "results_event",
    "schedule_session",
    "set_muted",
    "set_slow_mode",
    "touch_connections",
    "update_session",
    "upvote_question",
    "vote",
]
