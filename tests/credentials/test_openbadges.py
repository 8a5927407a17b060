"""The pure Open Badges builder: text cleaning, dates, hashed identities."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from credentials.openbadges import add_months, clean_text, format_datetime, identity_hash


def test_it_strips_control_characters_but_keeps_tabs_and_newlines() -> None:
    assert clean_text("a\x00b\x07c\x1b[31m\x7fd\x85e\tf\ng\r\n") == "abc[31mde\tf\ng\r\n"


def test_it_formats_datetimes_in_utc_with_a_time_zone() -> None:
    sydney = timezone(timedelta(hours=11))
    assert format_datetime(datetime(2026, 3, 1, 20, 30, 5, 123, tzinfo=sydney)) == (
        "2026-03-01T09:30:05Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        format_datetime(datetime(2026, 3, 1))  # noqa: DTZ001 - the naive input under test


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 3, 1, tzinfo=UTC), 36, datetime(2029, 3, 1, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2027, 12, 31, tzinfo=UTC), 2, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 11, 15, tzinfo=UTC), 14, datetime(2028, 1, 15, tzinfo=UTC)),
    ],
)
def test_it_adds_calendar_months(start: datetime, months: int, end: datetime) -> None:
    assert add_months(start, months) == end


def test_it_hashes_the_email_with_its_salt() -> None:
    expected = hashlib.sha256(b"lena@example.testc0ffee").hexdigest()
    assert identity_hash(" Lena@Example.test ", "c0ffee") == f"sha256${expected}"
