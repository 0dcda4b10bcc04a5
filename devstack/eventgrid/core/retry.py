"""What to do after a delivery attempt: done, retry later, or dead-letter — and when.

Follows "Event Grid message delivery and retry"
(https://learn.microsoft.com/azure/event-grid/delivery-and-retry):
- success is 200-204 only;
- a webhook answering 400, 401, 403 or 413 is not retried: the event is dead-lettered at once;
- anything else (other statuses, network errors, no answer within 30 s) is retried on the schedule
  10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, then hourly, each with a little random jitter;
- the event is dead-lettered when it has had ``maxDeliveryAttempts`` attempts, or when its
  ``eventTimeToLiveInMinutes`` would run out before the next attempt.
Every duration is multiplied by ``time_scale`` so tests can run the real schedule quickly.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from http import HTTPStatus

from devstack.eventgrid.core.config import RetryPolicy

SCHEDULE_SECONDS = (10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)  # then every hour
NOT_RETRIED = frozenset({400, 401, 403, 413})
JITTER = 0.1  # up to +/-10 % of each delay

MAX_ATTEMPTS_REASON = "MaxDeliveryAttemptsExceeded"
TTL_REASON = "TimeToLiveExceeded"
CLIENT_ERROR_REASON = "UndeliverableDueToClientError"


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: an HTTP status, or ``status=None`` with what went wrong on the wire."""

    status: int | None
    detail: str = ""

    @property
    def succeeded(self) -> bool:
        """Only 200-204 count as delivered."""
        return self.status is not None and 200 <= self.status <= 204

    def describe(self) -> str:
        """A short name for ``lastDeliveryOutcome`` (``NotFound``, ``TimedOut``...)."""
        if self.status is None:
            return self.detail or "GenericError"
        try:
            return HTTPStatus(self.status).phrase.replace(" ", "")
        except ValueError:
            return f"Http{self.status}"


@dataclass(frozen=True)
class Decision:
    """Delivered, retry at ``retry_at`` (epoch seconds), or dead-letter with ``reason``."""

    delivered: bool = False
    retry_at: float | None = None
    reason: str | None = None


class RetryPlanner:
    """Applies the schedule and the subscription's retry policy; pure given its random source."""

    def __init__(self, time_scale: float = 1.0, rng: random.Random | None = None) -> None:
        self.time_scale = time_scale
        self._rng = rng or random.Random()

    def delay(self, attempts_made: int) -> float:
        """Seconds to wait after the ``attempts_made``-th failed attempt (1-based), with jitter."""
        base = SCHEDULE_SECONDS[min(attempts_made, len(SCHEDULE_SECONDS)) - 1] if attempts_made \
            else SCHEDULE_SECONDS[0]
        return base * self.time_scale * (1 + self._rng.uniform(-JITTER, JITTER))

    def ttl_seconds(self, policy: RetryPolicy) -> float:
        """The event time-to-live in (scaled) seconds."""
        return policy.event_ttl_minutes * 60.0 * self.time_scale

    def decide(self, outcome: Outcome, attempts_made: int, enqueued_at: float, now: float,
               policy: RetryPolicy) -> Decision:
        """What follows an attempt; ``attempts_made`` already counts it."""
        if outcome.succeeded:
            return Decision(delivered=True)
        if outcome.status in NOT_RETRIED:
            return Decision(reason=CLIENT_ERROR_REASON)
        if attempts_made >= policy.max_delivery_attempts:
            return Decision(reason=MAX_ATTEMPTS_REASON)
        retry_at = now + self.delay(attempts_made)
        if retry_at > enqueued_at + self.ttl_seconds(policy):
            return Decision(reason=TTL_REASON)
        return Decision(retry_at=retry_at)

    def expired(self, enqueued_at: float, now: float, policy: RetryPolicy) -> bool:
        """Whether an event still waiting (e.g. for a handshake) has outlived its TTL."""
        return now > enqueued_at + self.ttl_seconds(policy)
