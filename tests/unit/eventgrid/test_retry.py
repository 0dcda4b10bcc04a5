"""The retry planner: Event Grid's schedule, non-retried statuses, max attempts and TTL."""
from __future__ import annotations

import random

import pytest

from devstack.eventgrid.core.config import RetryPolicy
from devstack.eventgrid.core.retry import SCHEDULE_SECONDS, Outcome, RetryPlanner

POLICY = RetryPolicy(max_delivery_attempts=30, event_ttl_minutes=1440)


def test_schedule_is_event_grids_then_hourly_with_small_jitter() -> None:
    planner = RetryPlanner(rng=random.Random(7))
    expected = [10, 30, 60, 300, 600, 1800, 3600, 3600, 3600]
    for attempts, base in enumerate(expected, start=1):
        delay = planner.delay(attempts)
        assert base * 0.9 <= delay <= base * 1.1
    assert SCHEDULE_SECONDS[0] == 10.0


def test_time_scale_shrinks_delays_and_ttl() -> None:
    planner = RetryPlanner(time_scale=0.01, rng=random.Random(1))
    assert 0.09 <= planner.delay(1) <= 0.11
    assert planner.ttl_seconds(RetryPolicy(30, 1)) == pytest.approx(0.6)


@pytest.mark.parametrize("status", [200, 201, 202, 203, 204])
def test_only_200_to_204_are_success(status: int) -> None:
    assert RetryPlanner().decide(Outcome(status), 1, 0.0, 0.0, POLICY).delivered


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_client_errors_are_dead_lettered_without_retry(status: int) -> None:
    decision = RetryPlanner().decide(Outcome(status), 1, 0.0, 0.0, POLICY)
    assert decision.reason == "UndeliverableDueToClientError" and decision.retry_at is None


@pytest.mark.parametrize("outcome", [Outcome(500), Outcome(503), Outcome(404), Outcome(429), Outcome(205),
                                     Outcome(None, "TimedOut")])
def test_other_failures_are_retried_on_the_schedule(outcome: Outcome) -> None:
    decision = RetryPlanner(rng=random.Random(3)).decide(outcome, 2, 1000.0, 1000.0, POLICY)
    assert decision.retry_at is not None and 1027.0 <= decision.retry_at <= 1033.0


def test_max_attempts_dead_letters() -> None:
    decision = RetryPlanner().decide(Outcome(500), 3, 0.0, 0.0, RetryPolicy(3, 1440))
    assert decision.reason == "MaxDeliveryAttemptsExceeded"


def test_retry_beyond_ttl_dead_letters() -> None:
    policy = RetryPolicy(30, 1)  # 60 s
    planner = RetryPlanner(rng=random.Random(5))
    assert planner.decide(Outcome(500), 1, 0.0, 40.0, policy).retry_at is not None  # 40 + ~10 < 60
    assert planner.decide(Outcome(500), 2, 0.0, 40.0, policy).reason == "TimeToLiveExceeded"  # 40 + ~30 > 60
    assert planner.expired(0.0, 61.0, policy) and not planner.expired(0.0, 59.0, policy)


def test_outcome_names_for_dead_letters() -> None:
    assert Outcome(404).describe() == "NotFound"
    assert Outcome(500).describe() == "InternalServerError"
    assert Outcome(599).describe() == "Http599"
    assert Outcome(None, "TimedOut").describe() == "TimedOut"
