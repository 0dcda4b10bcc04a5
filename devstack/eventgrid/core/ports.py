"""What Event Grid semantics need from the outside: a clock and durable storage (devstack/eventgrid/store/)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from devstack.eventgrid.core.records import Delivery, NewDelivery

Clock = Callable[[], float]  # seconds since the epoch


class DeliveryStore(Protocol):
    """The durable delivery queue and dead-letter store; every call is committed when it returns."""

    def enqueue(self, deliveries: Iterable[NewDelivery], now: float) -> int:
        """Store every delivery in one transaction; returns how many were stored."""
        ...

    def due(self, now: float, limit: int, exclude: set[int], active: set[tuple[str, str]]) -> list[Delivery]:
        """Due pending rows of ``active`` (topic, subscription) pairs, oldest first, minus ``exclude``."""
        ...

    def next_due_at(self, active: set[tuple[str, str]]) -> float | None:
        """When the earliest pending row of an ``active`` pair becomes due, if any."""
        ...

    def pending_subscriptions(self) -> set[tuple[str, str]]:
        """Every (topic, subscription) pair that still has pending rows."""
        ...

    def expire_pending(self, topic: str, subscription: str, enqueued_before: float, reason: str,
                       now: float) -> int:
        """Dead-letter a pair's pending rows enqueued before a cutoff; returns how many."""
        ...

    def delivered(self, delivery_id: int) -> None:
        """Forget a delivered row."""
        ...

    def failed_attempt(self, delivery_id: int, attempts: int, outcome: str, status: int | None,
                       now: float, retry_at: float) -> None:
        """Record a failed attempt and when to try again."""
        ...

    def dead_letter(self, delivery_id: int, attempts: int, reason: str, outcome: str | None,
                    status: int | None, now: float) -> None:
        """Move a row to the dead letters with Event Grid's reason."""
        ...

    def dead_letters(self, topic: str | None = None, subscription: str | None = None) -> list[Delivery]:
        """Dead-lettered rows, optionally for one topic / subscription (names case-insensitive)."""
        ...

    def pending_count(self) -> int:
        """How many rows still wait for delivery."""
        ...

    def is_validated(self, topic: str, subscription: str, endpoint_url: str) -> bool:
        """Whether this endpoint already passed the validation handshake for the subscription."""
        ...

    def mark_validated(self, topic: str, subscription: str, endpoint_url: str, now: float) -> None:
        """Remember a successful handshake, so a restart does not repeat it."""
        ...
