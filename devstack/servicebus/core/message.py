"""Messages as the broker keeps them: the client's encoded bytes plus broker-owned metadata."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from devstack.servicebus.core.filters import MessageFacts


class MessageState(enum.IntEnum):
    """``x-opt-message-state`` values the SDK reads (ServiceBusMessageState)."""

    ACTIVE = 0
    DEFERRED = 1
    SCHEDULED = 2


@dataclass(frozen=True)
class Envelope:
    """A message as a sender handed it to the broker (already decoded by the wire layer)."""

    payload: bytes
    facts: MessageFacts
    message_id: str | None = None
    session_id: str | None = None
    ttl: float | None = None
    scheduled_at: float | None = None

    @property
    def size(self) -> int:
        """Encoded size in bytes (what the size quota counts)."""
        return len(self.payload)


@dataclass
class DeadLetterInfo:
    """Why and from where a message was dead-lettered (surfaced as properties/annotations)."""

    reason: str | None
    description: str | None
    source: str | None = None


@dataclass(eq=False)
class StoredMessage:
    """One message resting in one entity (each subscription copy is its own StoredMessage)."""

    entity: str
    seq: int
    payload: bytes
    message_id: str | None
    session_id: str | None
    enqueued_at: float
    expires_at: float | None = None
    scheduled_at: float | None = None
    state: MessageState = MessageState.ACTIVE
    delivery_count: int = 0
    dead_letter: DeadLetterInfo | None = None
    lock: Lock | None = field(default=None, repr=False)


@dataclass(eq=False)
class Lock:
    """A peek-lock held by one receiver (never persisted: a restart releases every lock)."""

    token: bytes
    message: StoredMessage
    owner: object
    locked_until: float
    previous_state: MessageState = MessageState.ACTIVE
