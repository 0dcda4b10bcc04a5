"""Property-based fuzzing of the host's parsers of outside input: typed errors only, never a crash.

NCRONTAB schedules come from the app (a bad one must stop the host at start with ScheduleError, never a
traceback); webhook bodies come from the network (a bad one must be a WebhookRejected 4xx).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from devstack.functions_host.eventgrid.payload import MAX_JSON_DEPTH, WebhookRejected, decode_events, trigger_values
from devstack.functions_host.timer.ncrontab import CronSchedule, ScheduleError, parse_schedule

FUZZ = settings(max_examples=400, deadline=None)
START = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
# Pieces NCRONTAB is made of, plus look-alikes: Unicode digits ("²".isdigit() is True), names, junk.
ATOMS = st.sampled_from(["*", "0", "1", "5", "7", "12", "23", "29", "30", "31", "59", "60", "99999999999999999999",
                         "jan", "FEB", "dec", "sun", "Sat", "mon", "²", "١", "٣", "", "-", "/", ",", "x"])
FIELD = st.lists(ATOMS | st.sampled_from(["-", "/", ","]), min_size=1, max_size=5).map("".join)
# Mostly one odd field among plain ones, so that the odd field is what the parser meets.
ONE_ODD_FIELD = st.tuples(st.integers(0, 5), FIELD).map(lambda t: " ".join(t[1] if i == t[0] else "*"
                                                                            for i in range(6)))
EXPRESSIONS = (ONE_ODD_FIELD | st.lists(FIELD, min_size=5, max_size=7).map(" ".join)
               | st.text(max_size=30)
               | st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)).map(
                   lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"))


@FUZZ
@given(EXPRESSIONS)
@example("² * * * * *")   # found by this test: "²".isdigit() is True, int("²") raises ValueError
@example("0 0 0 30 2 *")  # never fires
@example("٠١:٠٠:٠٠")
def test_schedules_parse_or_raise_schedule_error_and_next_occurrences_match(expression: str) -> None:
    try:
        schedule = parse_schedule(expression)
        moment = schedule.next_after(START)
    except ScheduleError:
        return
    assert moment > START
    if isinstance(schedule, CronSchedule):
        assert (moment.second in schedule.seconds and moment.minute in schedule.minutes
                and moment.hour in schedule.hours and moment.day in schedule.days
                and moment.month in schedule.months and (moment.weekday() + 1) % 7 in schedule.weekdays)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
EVENT_FIELDS = st.sampled_from(["id", "eventType", "subject", "eventTime", "data", "dataVersion", "specversion",
                                "type", "source", "time", "data_base64"])
EVENTS = st.dictionaries(EVENT_FIELDS, VALUES | st.just("2026-01-01T00:00:00Z") | st.just("1.0"), max_size=6)
BODIES = (st.binary(max_size=100) | VALUES.map(lambda v: json.dumps(v).encode())
          | st.lists(EVENTS, max_size=3).map(lambda events: json.dumps(events).encode())
          | st.integers(1, 3 * MAX_JSON_DEPTH).map(lambda depth: b"[" * depth + b"]" * depth))


@FUZZ
@given(BODIES)
def test_webhook_bodies_decode_or_are_rejected_with_a_4xx(body: bytes) -> None:
    try:
        values = trigger_values(decode_events(body))
    except WebhookRejected as exc:
        assert exc.status in (400, 413) and str(exc)
        return
    assert all(value is not None for value in values)
