"""A trace's delivery state, the counts over many, and throughput."""
from __future__ import annotations

from devstack.dashboard.core.deliveries import TraceSummary, state_counts, throughput

S = 1_000_000_000


def summary(services: tuple[str, ...] = ("ingestion",), errors: int = 0, end_s: float = 100.0) -> TraceSummary:
    return TraceSummary("t", "d", "POST /api/deliveries", 0, int(end_s * S), 3, errors, services, services[-1])


def test_states() -> None:
    now = int(110 * S)
    assert summary().state(now) == "in-flight"
    assert summary(("ingestion", "delivery", "notifications")).state(now) == "announced"
    assert summary(("ingestion", "notifications"), errors=1).state(now) == "failed"
    assert summary(end_s=10).state(now, idle_after_s=60) == "idle"


def test_counts_name_every_state() -> None:
    now = int(110 * S)
    counts = state_counts([summary(), summary(), summary(errors=1)], now)
    assert counts == {"in-flight": 2, "announced": 0, "failed": 1, "idle": 0}


def test_throughput_is_per_minute_over_the_window() -> None:
    now = 1000 * S
    starts = [now - 5 * S, now - 20 * S, now - 29 * S, now - 31 * S, now + S]
    assert throughput(starts, now, window_s=30) == 6.0
    assert throughput([], now) == 0.0
