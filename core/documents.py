"""Document parts several services share: the transactional outbox's entries and the ended marker."""
from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from contracts.model import Contract, UtcDateTime


class EndedMarker(Contract):
    """'This delivery ended': lets a step refuse a request that a compensation overtook."""

    id: str
    kind: Literal["ended"] = "ended"
    delivery_id: str
    outcome: str
    fleet_id: str | None = None
    recorded_at: UtcDateTime


def ended_id(delivery_id: str) -> str:
    """`ended:{deliveryId}`: the id of a delivery's ended marker, in whichever container keeps it."""
    return f"ended:{delivery_id}"


class OutboxChannel(StrEnum):
    """Where an owed effect goes."""

    SERVICE_BUS = "ServiceBus"
    EVENT_GRID = "EventGrid"


class OutboxEntry(Contract):
    """One effect a saved state owes (docs/app.md "Commit, then announce"): saved with the state, sent after the
    save under its deterministic id, and removed from the document once the broker or topic accepted it."""

    id: str                                  # the MessageId (Service Bus) or event id (Event Grid)
    channel: OutboxChannel
    destination: str                         # the entity or topic
    message_type: str                        # subject / the message type the event is about
    body: dict[str, Any]                     # the message's wire form, or the event's data
    session_id: str | None = None
    scheduled_at: UtcDateTime | None = None  # a timer: enqueued at this time
    timer: str | None = None                 # a timer: its name in the owner's document (to cancel it later)
    traceparent: str | None = None
    event_type: str | None = None
    subject: str | None = None
    data_version: str | None = None
    event_time: UtcDateTime | None = None
    attempts: int = 0                        # failed attempts so far
    next_attempt_at: UtcDateTime             # when the relay may try it (again)
    last_error: str | None = None
