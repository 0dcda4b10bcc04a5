"""NCRONTAB schedules of timer triggers: `{second} {minute} {hour} {day} {month} {day-of-week}`.

Follows https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions:
six fields, `*`, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`, month and day names. Like
NCrontab, a time matches only when *every* field matches (day-of-month AND day-of-week). Times are UTC.
Also accepts the TimeSpan form `hh:mm:ss` (a fixed interval), which App Service plans allow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from devstack.functions_host.errors import StartupError

_MONTHS = {n: i for i, n in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DAYS = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# Each field: its name, lowest and highest value, and the names it may use instead of numbers.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}), ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day-of-week", 0, 6, _DAYS))
# ASCII digits only, as .NET's invariant int.Parse reads them: str.isdigit() and \d also accept "²" or "١".
_INTERVAL = re.compile(r"^([0-9]{1,2}):([0-9]{2}):([0-9]{2})$")
_HORIZON = timedelta(days=366 * 5)


class ScheduleError(StartupError):
    """A schedule that is not valid NCRONTAB."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed six-field NCRONTAB expression."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def next_after(self, moment: datetime) -> datetime:
        """The first matching time strictly after ``moment`` (whole seconds)."""
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + _HORIZON
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif t.day not in self.days or (t.weekday() + 1) % 7 not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise ScheduleError(f"schedule {self.expression!r} never fires")


@dataclass(frozen=True)
class IntervalSchedule:
    """The TimeSpan form: fire every ``interval``."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        """``moment`` plus the interval."""
        return moment + self.interval


Schedule = CronSchedule | IntervalSchedule


def parse_schedule(expression: str) -> Schedule:
    """Parse NCRONTAB (six fields) or a TimeSpan; ScheduleError says what is wrong."""
    interval = _INTERVAL.match(expression.strip())
    if interval:
        hours, minutes, seconds = (int(g) for g in interval.groups())
        span = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        if span <= timedelta(0):
            raise ScheduleError(f"schedule {expression!r}: the interval must be positive")
        return IntervalSchedule(expression, span)
    fields = expression.split()
    if len(fields) != 6:
        raise ScheduleError(f"schedule {expression!r}: NCRONTAB needs 6 fields "
                            f"(second minute hour day month day-of-week), got {len(fields)}")
    values = [_parse_field(expression, text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
    return CronSchedule(expression, *values)


def _parse_field(expression: str, text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    result: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = _number(expression, name, step_text, names) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (_number(expression, name, x, names) for x in base.split("-", 1))
        else:
            start = _number(expression, name, base, names)
            end = high if step_text else start
        if name == "day-of-week" and end == 7:  # 7 is Sunday too, as in cron
            result.add(0)
            if start == 7:
                continue
            end = 6
        if not (low <= start <= end <= high) or step < 1:
            raise ScheduleError(f"schedule {expression!r}: {name} field {part!r} is out of range {low}-{high}")
        result.update(range(start, end + 1, step))
    return frozenset(result)


def _number(expression: str, name: str, text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not (text.isascii() and text.isdigit()):
        raise ScheduleError(f"schedule {expression!r}: {name} field has {text!r}, not a number")
    return int(text)
