"""The attendance section of an auditor's record (registered in `LiveConfig.ready`): every live
session of the record's cohort that has started, and whether and how long the learner attended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone

from delivery.records import RecordKey, RecordSection, SectionData
from live.models import Attendance, LiveSession


def load(keys: Sequence[RecordKey]) -> dict[RecordKey, SectionData]:
    """Two queries, whatever the number of records."""
    cohort_ids = {key.cohort_id for key in keys}
    sessions = list(
        LiveSession.objects.filter(cohort_id__in=cohort_ids, starts_at__lte=timezone.now())
        .order_by("starts_at", "id")
        .values("id", "cohort_id", "title", "starts_at", "ends_at", "ended_at")
    )
    attended: dict[tuple[int, int], dict[str, Any]] = {
        (row["session_id"], row["user_id"]): dict(row)
        for row in Attendance.objects.filter(
            session_id__in=[s["id"] for s in sessions],
            user_id__in={key.learner_id for key in keys},
        ).values("session_id", "user_id", "first_joined_at", "last_left_at", "late", "seconds")
    }
    found: dict[RecordKey, SectionData] = {}
    for key in keys:
        rows = []
        for session in sessions:
            if session["cohort_id"] != key.cohort_id:
                continue
            here = attended.get((session["id"], key.learner_id))
            rows.append(
                {
                    "session": session["title"],
                    # Datetimes: the record's JSON encoder writes them as ISO 8601.
                    "starts_at": session["starts_at"],
                    "attended": here is not None,
                    "joined_at": here["first_joined_at"] if here else None,
                    "left_at": here["last_left_at"] if here else None,
                    "minutes": round(here["seconds"] / 60) if here else 0,
                    "late": bool(here and here["late"]),
                    "report": reverse("live:attendance", args=[session["id"]]),
                }
            )
        found[key] = {"sessions": rows}
    return found


SECTION = RecordSection(
    key="attendance",
    title="Attendance at live sessions",
    template="live/_record_section.html",
    load=load,
    order=20,
)
