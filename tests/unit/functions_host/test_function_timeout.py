"""functionTimeout on Service Bus triggers: a timed-out sync thread keeps its message, session and slot."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.functions_host.invocation import Invoker
from devstack.functions_host.metadata import Binding, FunctionSpec
from devstack.functions_host.outputs import OutputSender
from devstack.functions_host.runner import FunctionRunner
from devstack.functions_host.servicebus.message_actions import SettlementRegistry
from devstack.functions_host.servicebus.ports import ReceiverPort
from devstack.functions_host.servicebus.triggers import ServiceBusListener
from devstack.functions_host.settings import AppSettings
from tests.unit.functions_host.fake_receivers import FakeEntity, FakeFactory, FakeMessage
from tests.unit.functions_host.test_servicebus_listener import options, run_until

TIMEOUT = 0.05
SLOW_SECONDS = 0.4  # far past the timeout: the first thread runs on long after it is given up


class Timeline:
    """What the function's threads did, in order, and how many ran at once."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.running = self.peak = 0
        self._lock = threading.Lock()

    def enter(self, body: str) -> None:
        with self._lock:
            self.events.append(f"start {body}")
            self.running += 1
            self.peak = max(self.peak, self.running)

    def leave(self, body: str) -> None:
        with self._lock:
            self.events.append(f"end {body}")
            self.running -= 1


def sb_spec(function: Callable[..., Any]) -> FunctionSpec:
    return FunctionSpec("f", Binding("msg", "serviceBusTrigger", "IN", {}), (), function, ("msg",))


def run_with_timeout(tmp_path: Path, entity: FakeEntity, function: Callable[..., Any], **overrides: Any) -> None:
    """Run ``function`` as a Service Bus trigger through the real runner until every message is settled."""
    expected = len(entity.messages)

    async def scenario() -> None:
        invoker = Invoker(str(tmp_path), max_workers=4)
        runner = FunctionRunner(invoker, OutputSender(AppSettings({})), TIMEOUT)
        spec = sb_spec(function)

        async def process(receiver: ReceiverPort, message: Any) -> None:
            await runner.run(spec, message, binding_data={"Body": message.body})

        listener = ServiceBusListener("f", FakeFactory(entity), options(**overrides), process, SettlementRegistry())
        try:
            await run_until(listener, lambda: len(entity.outcomes) == expected)
        finally:
            invoker.close()

    asyncio.run(scenario())


def slow_first(timeline: Timeline) -> Callable[[FakeMessage], None]:
    def user_function(msg: FakeMessage) -> None:  # sync: runs in the thread pool, cannot be cancelled
        timeline.enter(msg.body)
        if msg.body.endswith("0"):
            time.sleep(SLOW_SECONDS)
        timeline.leave(msg.body)
    return user_function


def test_a_timed_out_sync_function_keeps_its_session_until_its_thread_ends(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("A0", "A"), FakeMessage("A1", "A"))
    timeline = Timeline()
    with caplog.at_level(logging.INFO):
        run_with_timeout(tmp_path, entity, slow_first(timeline), sessions=True, max_concurrent_sessions=1)
    assert timeline.events == ["start A0", "end A0", "start A1", "end A1"]  # one call per session, in order
    assert timeline.peak == 1
    assert entity.outcomes == [("abandon", "A0"), ("complete", "A1")]  # the timeout still fails A0
    assert "exceeded by function 'Functions.f'" in caplog.text and "still running" in caplog.text
    assert "has finished its thread" in caplog.text


def test_a_timed_out_sync_function_keeps_its_concurrency_slot_until_its_thread_ends(tmp_path: Path) -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("m0"), FakeMessage("m1"))
    timeline = Timeline()
    run_with_timeout(tmp_path, entity, slow_first(timeline), max_concurrent_calls=1)
    assert timeline.events == ["start m0", "end m0", "start m1", "end m1"]
    assert timeline.peak == 1  # never more threads than maxConcurrentCalls
    assert entity.outcomes == [("abandon", "m0"), ("complete", "m1")]


def test_a_timed_out_async_function_is_cancelled_and_its_message_released_at_once(tmp_path: Path) -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("m0"), FakeMessage("m1"))
    events: list[str] = []

    async def user_function(msg: FakeMessage) -> None:
        events.append(f"start {msg.body}")
        try:
            if msg.body == "m0":
                await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append(f"cancelled {msg.body}")
            raise
        events.append(f"end {msg.body}")

    started = time.monotonic()
    run_with_timeout(tmp_path, entity, user_function, max_concurrent_calls=1)
    assert time.monotonic() - started < 5  # nothing waited for the 30 s sleep
    assert events[0] == "start m0" and "cancelled m0" in events and "end m0" not in events
    assert events[-2:] == ["start m1", "end m1"]
    assert entity.outcomes == [("abandon", "m0"), ("complete", "m1")]


def test_a_timer_does_not_fire_again_while_a_timed_out_thread_runs(tmp_path: Path) -> None:
    from devstack.functions_host.timer.triggers import TimerTrigger

    timeline = Timeline()

    def tick(timer: Any) -> None:
        timeline.enter("tick0")
        time.sleep(SLOW_SECONDS)
        timeline.leave("tick0")

    async def scenario() -> None:
        invoker = Invoker(str(tmp_path), max_workers=4)
        runner = FunctionRunner(invoker, OutputSender(AppSettings({})), TIMEOUT)
        spec = FunctionSpec("t", Binding("timer", "timerTrigger", "IN", {"schedule": "00:00:01"}), (), tick,
                            ("timer",))
        trigger = TimerTrigger(spec, AppSettings({}), runner)
        try:
            await trigger._fire(trigger.schedule.next_after(datetime.now(UTC)), past_due=False)
            assert timeline.events == ["start tick0", "end tick0"]  # the next occurrence can only come after
        finally:
            invoker.close()

    asyncio.run(scenario())
