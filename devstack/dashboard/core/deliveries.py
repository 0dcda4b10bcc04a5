"""What a trace says about its delivery: its state, and the counts and throughput over many of them."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# A delivery is announced once Notifications (the Event Grid subscriber, the last step of the choreography in
# docs/app.md) has processed its outcome; an error span (e.g. a dead letter) marks it failed.
NOTIFICATIONS = "notifications"
STATES = ("in-flight", "announced", "failed", "idle")


@dataclass(frozen=True)
class TraceSummary:
    """One trace, summed up by the store as its spans arrive."""

    trace_id: str
    delivery_id: str
    root_name: str
    start_ns: int
    end_ns: int
    span_count: int
    error_count: int
    services: tuple[str, ...]  # in order of first appearance
    last_service: str

    def state(self, now_ns: int, idle_after_s: float = 120.0) -> str:
        """``failed``, ``announced``, ``in-flight``, or ``idle`` (no span for ``idle_after_s`` and not announced)."""
        if self.error_count:
            return "failed"
        if NOTIFICATIONS in self.services:
            return "announced"
        if now_ns - self.end_ns > idle_after_s * 1e9:
            return "idle"
        return "in-flight"

    @property
    def duration_ms(self) -> float:
        """From the first span's start to the last span's end."""
        return (self.end_ns - self.start_ns) / 1e6


def state_counts(traces: Iterable[TraceSummary], now_ns: int) -> dict[str, int]:
    """How many deliveries are in each state (every state present, zero or not)."""
    counts = Counter(trace.state(now_ns) for trace in traces)
    return {state: counts.get(state, 0) for state in STATES}


def throughput(start_times_ns: Iterable[int], now_ns: int, window_s: float = 60.0) -> float:
    """Deliveries started per minute over the last ``window_s`` seconds."""
    since = now_ns - window_s * 1e9
    started = sum(1 for start in start_times_ns if since <= start <= now_ns)
    return started * 60.0 / window_s
