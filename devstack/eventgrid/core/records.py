"""What the core stores and lists: one event bound for one subscription, and its stored row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class NewDelivery:
    """One event bound for one subscription."""

    topic: str
    subscription: str
    event_id: str
    event: dict[str, Any]
    data_version: str = ""


@dataclass(frozen=True)
class Delivery:
    """A stored pending or dead-lettered row."""

    id: int
    topic: str
    subscription: str
    event_id: str
    event: dict[str, Any]
    data_version: str
    enqueued_at: float
    attempts: int
    next_attempt_at: float
    last_outcome: str | None = None
    last_status: int | None = None
    last_attempt_at: float | None = None
    dead_letter_reason: str | None = None
    dead_lettered_at: float | None = None


def dead_letter_view(row: Delivery) -> dict[str, object]:
    """A dead letter as Event Grid writes it: the event plus delivery metadata."""
    return {
        **row.event,
        "deadLetterReason": row.dead_letter_reason,
        "deliveryAttempts": row.attempts,
        "lastDeliveryOutcome": row.last_outcome,
        "lastHttpStatusCode": row.last_status,
        "publishTime": _iso(row.enqueued_at),
        "lastDeliveryAttemptTime": _iso(row.last_attempt_at),
        "topicName": row.topic,
        "subscriptionName": row.subscription,
    }


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()
