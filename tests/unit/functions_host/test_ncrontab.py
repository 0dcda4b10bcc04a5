"""NCRONTAB schedules: six fields, ranges, steps, lists, names, AND of day fields, TimeSpan intervals."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.functions_host.timer.ncrontab import ScheduleError, parse_schedule

START = datetime(2026, 11, 27, 15, 3, 7, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(("expression", "expected"), [
    ("*/5 * * * * *", datetime(2026, 11, 27, 15, 3, 10, tzinfo=UTC)),
    ("0 */5 * * * *", datetime(2026, 11, 27, 15, 5, 0, tzinfo=UTC)),
    ("0 30 9 * * Mon-Fri", datetime(2026, 11, 30, 9, 30, 0, tzinfo=UTC)),
    ("0 0 0 29 Feb *", datetime(2028, 2, 29, 0, 0, 0, tzinfo=UTC)),
    ("10,20 * * * * *", datetime(2026, 11, 27, 15, 3, 10, tzinfo=UTC)),
    ("0 0 12 1 * 1", datetime(2027, 2, 1, 12, 0, 0, tzinfo=UTC)),  # the 1st AND a Monday
    ("0 0 0 * * 7", datetime(2026, 11, 29, 0, 0, 0, tzinfo=UTC)),  # 7 is Sunday too
    ("00:00:10", START + timedelta(seconds=10)),
])
def test_next_occurrence(expression: str, expected: datetime) -> None:
    assert parse_schedule(expression).next_after(START) == expected


def test_occurrences_are_strictly_after_the_given_time() -> None:
    schedule = parse_schedule("* * * * * *")
    assert schedule.next_after(START) == START + timedelta(seconds=1)


@pytest.mark.parametrize(("expression", "message"), [
    ("* * * * *", "needs 6 fields"),
    ("61 * * * * *", "out of range"),
    ("* * * * Foo *", "not a number"),
    ("*/0 * * * * *", "out of range"),
    ("00:00:00", "must be positive"),
    ("0 0 0 31 Feb *", "never fires"),
])
def test_invalid_schedules(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(expression).next_after(START)
