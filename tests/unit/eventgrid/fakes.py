"""A hand-written in-memory fake of the Event Grid core's storage port (``DeliveryStore``) and a clock."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from devstack.eventgrid.core.records import Delivery, NewDelivery


class FakeClock:
    """A clock that only moves when told to; call it for the time, like ``time.time``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.current = now

    def __call__(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += seconds


class InMemoryStore:
    """The DeliveryStore port in a dict: pending and dead-lettered rows, and the validated endpoints."""

    def __init__(self) -> None:
        self.rows: dict[int, Delivery] = {}
        self.dead: set[int] = set()
        self.validated: dict[tuple[str, str, str], float] = {}
        self._next_id = 1

    def enqueue(self, deliveries: Iterable[NewDelivery], now: float) -> int:
        stored = 0
        for d in deliveries:
            self.rows[self._next_id] = Delivery(self._next_id, d.topic, d.subscription, d.event_id, d.event,
                                                d.data_version, now, 0, now)
            self._next_id, stored = self._next_id + 1, stored + 1
        return stored

    def _pending(self) -> list[Delivery]:
        return sorted((r for r in self.rows.values() if r.id not in self.dead), key=lambda r: (r.next_attempt_at, r.id))

    def due(self, now: float, limit: int, exclude: set[int], active: set[tuple[str, str]]) -> list[Delivery]:
        return [r for r in self._pending() if r.next_attempt_at <= now and (r.topic, r.subscription) in active
                and r.id not in exclude][:max(limit, 0)]

    def next_due_at(self, active: set[tuple[str, str]]) -> float | None:
        return min((r.next_attempt_at for r in self._pending() if (r.topic, r.subscription) in active), default=None)

    def pending_subscriptions(self) -> set[tuple[str, str]]:
        return {(r.topic, r.subscription) for r in self._pending()}

    def expire_pending(self, topic: str, subscription: str, enqueued_before: float, reason: str,
                       now: float) -> int:
        expired = [r for r in self._pending()
                   if (r.topic, r.subscription) == (topic, subscription) and r.enqueued_at < enqueued_before]
        for r in expired:
            self.rows[r.id] = dataclasses.replace(r, dead_letter_reason=reason, dead_lettered_at=now)
            self.dead.add(r.id)
        return len(expired)

    def delivered(self, delivery_id: int) -> None:
        del self.rows[delivery_id]

    def failed_attempt(self, delivery_id: int, attempts: int, outcome: str, status: int | None,
                       now: float, retry_at: float) -> None:
        self.rows[delivery_id] = dataclasses.replace(self.rows[delivery_id], attempts=attempts, last_outcome=outcome,
                                                     last_status=status, last_attempt_at=now,
                                                     next_attempt_at=retry_at)

    def dead_letter(self, delivery_id: int, attempts: int, reason: str, outcome: str | None,
                    status: int | None, now: float) -> None:
        row = self.rows[delivery_id]
        self.rows[delivery_id] = dataclasses.replace(
            row, attempts=attempts, dead_letter_reason=reason, dead_lettered_at=now,
            last_outcome=row.last_outcome if outcome is None else outcome,
            last_status=row.last_status if status is None else status,
            last_attempt_at=row.last_attempt_at if outcome is None else now)
        self.dead.add(delivery_id)

    def dead_letters(self, topic: str | None = None, subscription: str | None = None) -> list[Delivery]:
        return [r for r in sorted(self.rows.values(), key=lambda r: (r.dead_lettered_at or 0.0, r.id))
                if r.id in self.dead and (topic is None or r.topic.lower() == topic.lower())
                and (subscription is None or r.subscription.lower() == subscription.lower())]

    def pending_count(self) -> int:
        return len(self._pending())

    def is_validated(self, topic: str, subscription: str, endpoint_url: str) -> bool:
        return (topic, subscription, endpoint_url) in self.validated

    def mark_validated(self, topic: str, subscription: str, endpoint_url: str, now: float) -> None:
        self.validated[(topic, subscription, endpoint_url)] = now
