"""Hand depth snapshots from the broker's loop thread to the admin endpoint's HTTP threads.

Only the loop thread may touch the broker's core (it is not locked), so an HTTP thread never counts anything
itself: it asks for a snapshot and waits; the loop, at its next timer pass (every ``--tick``, 50 ms by default),
sees the request, counts (core/depths.py) and publishes an immutable snapshot. Nothing is counted while nobody
asks, so an idle broker pays one attribute read per tick; a snapshot younger than ``max_age`` is served again
without waking the loop, so any number of pollers cost at most one count per ``max_age``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_MAX_AGE = 0.5  # seconds a snapshot is served again before a fresh one is asked for


class SnapshotUnavailable(RuntimeError):
    """The loop did not publish a snapshot in time (busy, stopping) or counting failed."""


class SnapshotBoard(Generic[T]):
    """One snapshot slot: readers on any thread, one publisher (the loop thread) calling ``on_tick``."""

    def __init__(self, measure: Callable[[], T], max_age: float = DEFAULT_MAX_AGE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._measure, self._max_age, self._clock = measure, max_age, clock
        self._changed = threading.Condition()
        self._latest: T | None = None
        self._taken = float("-inf")  # when _latest was published, by ``clock``
        self._error: str | None = None
        self._generation = 0  # bumped at every publication (or failure) so waiters know theirs came
        self._wanted = False  # read without the lock by the loop: a stale False only delays to the next tick
        # Set by the broker to its loop's wake(): a quiet loop sleeps up to a second between timer passes.
        self.wake: Callable[[], None] = lambda: None

    def on_tick(self) -> None:
        """Loop thread: count and publish if a reader is waiting for a fresh snapshot."""
        if not self._wanted:
            return
        try:
            snapshot, error = self._measure(), None
        except Exception as exc:  # a counting bug must not stop the broker, nor leave readers hanging
            log.exception("counting entity depths failed")
            snapshot, error = None, f"{type(exc).__name__}: {exc}"
        with self._changed:
            if snapshot is not None:
                self._latest, self._taken = snapshot, self._clock()
            self._error = error
            self._wanted = False
            self._generation += 1
            self._changed.notify_all()

    def latest(self, timeout: float) -> T:
        """Any thread: a snapshot at most ``max_age`` old, waiting up to ``timeout`` s for the loop to take one."""
        with self._changed:
            if self._latest is not None and self._clock() - self._taken <= self._max_age:
                return self._latest
            generation = self._generation
            self._wanted = True
            self.wake()
            if not self._changed.wait_for(lambda: self._generation != generation, timeout):
                raise SnapshotUnavailable(f"the broker's loop published no snapshot within {timeout:g} s")
            if self._error is not None:
                raise SnapshotUnavailable(self._error)
            assert self._latest is not None
            return self._latest
