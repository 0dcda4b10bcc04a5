"""Back off, don't burn: transient failures are retried in-process, inside the message lock, with exponential
back-off and equal jitter, for a bounded time budget (docs/app.md "Retries and back-off").

Why in-process: `@app.retry` policies are not supported for Service Bus triggers, and an abandon makes the
broker redeliver at once, so ten attempts burn MaxDeliveryCount within a second of an outage. Sleeping inside
the invocation is safe on the real host: it renews the message (and session) lock for
``maxAutoLockRenewalDuration`` (host.json: 5 min), and the budget stays well below that and below
``functionTimeout``. When the budget is spent the failure is re-raised: the message is abandoned, its delivery
count grows by one, and MaxDeliveryCount stays the limit for a failure that persists (10 attempts x budget).
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with equal jitter: each wait is random between half its cap and the cap (AWS
    Architecture Blog, "Exponential Backoff And Jitter"), so a wait never collapses to nothing."""

    first_delay: float = 0.5
    max_delay: float = 8.0
    budget: float = 30.0   # seconds of sleeping per invocation before giving the message back to the broker
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def delays(self) -> list[float]:
        """The upper bounds of each wait, in order, until the budget is spent."""
        bounds, total, delay = [], 0.0, self.first_delay
        while delay > 0 and total + delay <= self.budget:
            bounds.append(delay)
            total += delay
            delay = min(delay * 2, self.max_delay)
        return bounds

    def run(self, attempt: Callable[[], T], what: str) -> T:
        """Call ``attempt`` until it returns; after each exception wait, until the budget is spent, then re-raise."""
        for bound in self.delays():
            try:
                return attempt()
            except Exception as exc:
                wait = self.jitter(bound / 2, bound)
                log.warning("transient failure on %s (%s: %s); retrying in %.2fs", what, type(exc).__name__, exc, wait)
                self.sleep(wait)
        return attempt()


NO_RETRY = Backoff(budget=0.0)
