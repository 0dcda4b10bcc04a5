"""One receivable entity (queue, subscription or dead-letter queue): its messages, locks and sessions."""
from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from devstack.servicebus.core.message import MessageState, StoredMessage
from devstack.servicebus.core.topology import EntitySettings

DEAD_LETTER_SUFFIX = "/$deadletterqueue"


class Consumer(Protocol):
    """A receiver link as the broker sees it (implemented by the AMQP layer)."""

    peek_lock: bool
    session_id: str | None

    def credit(self) -> int:
        """How many more messages the receiver asked for."""
        ...

    def deliver(self, message: StoredMessage, token: bytes | None, locked_until: float | None) -> None:
        """Send one message to the receiver."""
        ...

    def session_assigned(self, session_id: str, locked_until: float) -> None:
        """A NEXT_AVAILABLE receiver got a session."""
        ...

    def session_closed(self, condition: str, description: str) -> None:
        """The receiver lost its session (lock expired) or found none in time."""
        ...


@dataclass(eq=False)
class SessionSlot:
    """Per-session bookkeeping of a session-enabled entity."""

    session_id: str
    ready: list[int] = field(default_factory=list)
    owner: Consumer | None = None
    locked_until: float = 0.0
    state: bytes | None = None
    held: int = 0  # messages of this session in the entity, in any state

    @property
    def idle(self) -> bool:
        """Nothing keeps this slot: no receiver, no messages, no state (it can be forgotten)."""
        return self.owner is None and self.held == 0 and self.state is None


@dataclass(eq=False)
class Waiter:
    """A NEXT_AVAILABLE session receiver waiting for a session until ``deadline``."""

    consumer: Consumer
    deadline: float


class Entity:
    """Messages resting in one queue/subscription/DLQ, ordered by sequence number."""

    def __init__(self, key: str, settings: EntitySettings, *, is_dead_letter: bool = False) -> None:
        self.key = key
        self.settings = settings
        self.is_dead_letter = is_dead_letter
        # Dead-letter queues are never session-aware (docs: "dead-letter queues").
        self.sessionful = settings.requires_session and not is_dead_letter
        self.messages: dict[int, StoredMessage] = {}
        self.last_seq = 0
        self.ready: list[int] = []  # non-session entities: heap of sequence numbers
        # Only sessions with an owner, messages or state have a slot (a slot is dropped when idle),
        # so memory and per-send work do not grow with every session id ever seen.
        self.sessions: dict[str, SessionSlot] = {}
        # Unowned sessions that became deliverable, oldest first: NEXT_AVAILABLE takes the head
        # instead of scanning every slot. Entries may be stale; they are dropped when reached.
        self.available: OrderedDict[str, None] = OrderedDict()
        self.consumers: list[Consumer] = []
        self.waiters: list[Waiter] = []
        self.scheduled: list[tuple[float, int]] = []
        self.expiring: list[tuple[float, int]] = []
        self.dead_letter: Entity | None = None

    def next_seq(self) -> int:
        """Allocate this entity's next sequence number."""
        self.last_seq += 1
        return self.last_seq

    def session(self, session_id: str) -> SessionSlot:
        """The slot for a session, created on first use."""
        slot = self.sessions.get(session_id)
        if slot is None:
            slot = self.sessions[session_id] = SessionSlot(session_id)
        return slot

    def forget_if_idle(self, slot: SessionSlot) -> None:
        """Drop a slot nothing keeps any more."""
        if slot.idle and self.sessions.get(slot.session_id) is slot:
            del self.sessions[slot.session_id]
            self.available.pop(slot.session_id, None)

    def unlock_session(self, slot: SessionSlot) -> None:
        """The session's receiver let go: offer it to NEXT_AVAILABLE receivers, or forget it."""
        slot.owner = None
        if self.has_ready(slot.ready):
            self.available[slot.session_id] = None
        else:
            self.forget_if_idle(slot)

    def lock_session(self, slot: SessionSlot, owner: Consumer) -> None:
        """Give the session to one receiver."""
        slot.owner = owner
        self.available.pop(slot.session_id, None)

    def add(self, message: StoredMessage) -> None:
        """Hold a message; make it deliverable if it is active."""
        self.messages[message.seq] = message
        if self.sessionful and message.session_id is not None:
            self.session(message.session_id).held += 1
        self.last_seq = max(self.last_seq, message.seq)
        if message.state is MessageState.SCHEDULED and message.scheduled_at is not None:
            heapq.heappush(self.scheduled, (message.scheduled_at, message.seq))
        if message.expires_at is not None:
            heapq.heappush(self.expiring, (message.expires_at, message.seq))
        if message.state is MessageState.ACTIVE:
            self.make_ready(message)

    def make_ready(self, message: StoredMessage) -> None:
        """Queue an active, unlocked message for delivery."""
        if self.sessionful and message.session_id is not None:
            slot = self.session(message.session_id)
            heapq.heappush(slot.ready, message.seq)
            if slot.owner is None:
                self.available[slot.session_id] = None  # keeps its place if already offered
        else:
            heapq.heappush(self.ready, message.seq)

    def remove(self, seq: int) -> StoredMessage | None:
        """Forget a message (heaps drop the stale entry lazily)."""
        message = self.messages.pop(seq, None)
        if message is not None and self.sessionful and message.session_id is not None:
            slot = self.sessions.get(message.session_id)
            if slot is not None:
                slot.held -= 1
                self.forget_if_idle(slot)
        return message

    def pop_ready(self, heap: list[int]) -> StoredMessage | None:
        """Next deliverable message from a ready heap, skipping stale entries."""
        while heap:
            message = self.messages.get(heapq.heappop(heap))
            if message is not None and message.state is MessageState.ACTIVE and message.lock is None:
                return message
        return None

    def has_ready(self, heap: list[int]) -> bool:
        """True when the heap still holds a deliverable message (drops stale heads)."""
        while heap:
            message = self.messages.get(heap[0])
            if message is not None and message.state is MessageState.ACTIVE and message.lock is None:
                return True
            heapq.heappop(heap)
        return False

    def free_session_with_messages(self) -> SessionSlot | None:
        """The unlocked session waiting longest with deliverable messages (for NEXT_AVAILABLE)."""
        while self.available:
            session_id = next(iter(self.available))
            slot = self.sessions.get(session_id)
            if slot is not None and slot.owner is None and self.has_ready(slot.ready):
                return slot
            del self.available[session_id]
        return None

    def in_order(self, from_seq: int = 0) -> Iterator[StoredMessage]:
        """Messages from ``from_seq`` on, by sequence number (peek)."""
        for seq in sorted(s for s in self.messages if s >= from_seq):
            yield self.messages[seq]

    def session_ids(self) -> list[str]:
        """Sessions that have messages or state (get-message-sessions)."""
        return sorted(sid for sid, slot in self.sessions.items() if slot.held or slot.state is not None)
