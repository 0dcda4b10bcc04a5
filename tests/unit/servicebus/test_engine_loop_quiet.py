"""The broker's loop sleeps while nothing is on the wire and nothing is due (devstack/servicebus/amqp/loop.py):
an idle stack should not pay for a timer pass every 50 ms."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from devstack.servicebus.amqp.loop import IDLE_TICK_MAX_SECONDS, EngineLoop

TICK = 0.05


class CountingHandler:
    """Records each timer pass; says its next work is due at ``due_at`` (monotonic), or never."""

    def __init__(self, due_at: float | None = None) -> None:
        self.ticks: list[float] = []
        self.due_at = due_at

    def tick(self) -> None:
        self.ticks.append(time.monotonic())

    def seconds_until_due(self) -> float:
        return float("inf") if self.due_at is None else max(0.0, self.due_at - time.monotonic())


@contextmanager
def running(handler: CountingHandler) -> Iterator[EngineLoop]:
    loop = EngineLoop(handler, "127.0.0.1", 0, TICK)
    thread = threading.Thread(target=loop.run, daemon=True, name="engine-loop-under-test")
    thread.start()
    try:
        yield loop
    finally:
        loop.stop()
        thread.join(timeout=5)


def test_a_quiet_loop_passes_at_most_once_a_second() -> None:
    handler = CountingHandler()
    with running(handler):
        started = time.monotonic()
        time.sleep(2.5)
        window = [at for at in handler.ticks if at <= started + 2.5]
    # Every 50 ms would be ~50 passes; quiet, two passes (the loop counts as busy at start) then one per
    # IDLE_TICK_MAX_SECONDS.
    assert 2 <= len(window) <= 2 + 2.5 / IDLE_TICK_MAX_SECONDS, window


def test_stop_ends_a_quiet_loop_at_once() -> None:
    handler = CountingHandler()
    with running(handler) as loop:
        time.sleep(0.5)  # quiet: sleeping up to a second
        asked = time.monotonic()
        loop.stop()
        thread = next(t for t in threading.enumerate() if t.name == "engine-loop-under-test")
        thread.join(timeout=5)
        assert time.monotonic() - asked < IDLE_TICK_MAX_SECONDS / 2


def test_a_quiet_loop_still_wakes_for_work_that_comes_due() -> None:
    handler = CountingHandler(due_at=time.monotonic() + 0.6)
    with running(handler):
        time.sleep(1.0)
    assert any(handler.due_at - TICK <= at <= handler.due_at + 0.25 for at in handler.ticks), handler.ticks


def test_traffic_brings_the_usual_tick_back() -> None:
    handler = CountingHandler()
    with running(handler) as loop:
        time.sleep(1.2)  # quiet by now
        port = loop.listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"AMQP\x03\x01\x00\x00")
            sent = time.monotonic()
            time.sleep(0.5)
    # Frames may have created timers, so a pass follows within about one tick, not up to a second later.
    assert any(sent <= at <= sent + 4 * TICK for at in handler.ticks), (sent, handler.ticks)



def test_wake_brings_a_pass_within_a_tick() -> None:
    # The admin endpoint's snapshot requests wake the loop (admin/snapshots.py): no second-long wait for a count.
    handler = CountingHandler()
    with running(handler) as loop:
        time.sleep(1.2)  # quiet by now
        asked = time.monotonic()
        loop.wake()
        time.sleep(0.5)
    assert any(asked <= at <= asked + 4 * TICK for at in handler.ticks), (asked, handler.ticks)
