"""The dispatcher's loops survive unexpected errors: logged, backed off, never fatal, never a busy loop."""
from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack.eventgrid.core.config import EVENT_GRID_SCHEMA, EventGridConfig, RetryPolicy, Subscription, Topic
from devstack.eventgrid.core.records import NewDelivery
from devstack.eventgrid.core.retry import RetryPlanner
from devstack.eventgrid.core.service import EventGridService
from devstack.eventgrid.http.delivery import Dispatcher
from devstack.eventgrid.store.outbox import Outbox


class FailingOutbox:
    """An outbox whose ``due`` fails the first ``failures`` times (e.g. a locked or full disk)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.due_calls: list[float] = []

    def pending_subscriptions(self) -> list[tuple[str, str]]:
        return []

    def due(self, now: float, limit: int, exclude: set[int], active: set[tuple[str, str]]) -> list:
        self.due_calls.append(time.monotonic())
        if len(self.due_calls) <= self.failures:
            raise OSError("disk I/O error")
        return []

    def next_due_at(self, active: set[tuple[str, str]]) -> float | None:
        return None


async def _run_until(dispatcher: Dispatcher, condition: Callable[[], bool], within: float = 5.0) -> None:
    """Run the dispatcher until ``condition`` holds (or ``within`` seconds pass), then stop it and await its end."""
    task = asyncio.ensure_future(dispatcher.run())
    deadline = time.monotonic() + within
    # Polled: the conditions read state the dispatcher changes as it goes, and nothing signals them.
    while not condition() and not task.done() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await dispatcher.stop()
    dispatcher.wake()
    await asyncio.wait_for(task, 5)  # re-raises whatever ended the loop


def test_dispatch_loop_survives_errors_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    outbox = FailingOutbox(failures=3)
    planner = RetryPlanner(time_scale=0.2)
    # FailingOutbox has only what the dispatch loop calls, not the whole DeliveryStore port.
    dispatcher = Dispatcher(EventGridService(EventGridConfig(()), outbox, planner, time.time))  # type: ignore[arg-type]
    asyncio.run(_run_until(dispatcher, lambda: len(outbox.due_calls) > 3))
    assert len(outbox.due_calls) > 3  # it kept dispatching after the failures
    gaps = [b - a for a, b in itertools.pairwise(outbox.due_calls[:4])]
    assert all(gap >= 0.04 for gap in gaps), gaps  # 0.25 s x 0.2 doubling: a back-off, not a busy loop
    assert "dispatch pass failed" in caplog.text


def test_an_attempt_that_raises_counts_as_a_failed_attempt(tmp_path: Path) -> None:
    # A row whose event is not JSON-serialisable (NaN, as an older version could store) makes the
    # attempt raise before any request: it must follow the retry schedule, not spin or vanish.
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.enqueue([NewDelivery("t", "s", "e1", {"id": "e1", "data": "x"}, "1")], now=time.time())
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        db.execute("UPDATE deliveries SET event_json = ?", ('{"id": "e1", "data": NaN}',))
    outbox.mark_validated("t", "s", "http://127.0.0.1:9/never", time.time())
    sub = Subscription("s", "http://127.0.0.1:9/never", retry_policy=RetryPolicy(max_delivery_attempts=3))
    config = EventGridConfig((Topic("t", "key", EVENT_GRID_SCHEMA, (sub,)),))
    dispatcher = Dispatcher(EventGridService(config, outbox, RetryPlanner(time_scale=0.001), time.time))
    asyncio.run(_run_until(dispatcher, lambda: bool(outbox.dead_letters())))
    [letter] = outbox.dead_letters()
    assert letter.attempts == 3 and letter.dead_letter_reason == "MaxDeliveryAttemptsExceeded"
    assert letter.last_outcome.startswith("InternalError: ValueError")
