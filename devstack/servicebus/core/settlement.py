"""Settling locked messages: complete, abandon, release, defer, dead-letter (link or management)."""
from __future__ import annotations

import enum

from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.errors import InvalidOperation
from devstack.servicebus.core.message import MessageState


class Outcome(enum.Enum):
    """What a receiver decided about a locked message."""

    COMPLETE = "completed"
    ABANDON = "abandoned"
    RELEASE = "released"
    DEFER = "defered"  # sic: the SDK's management spelling (SETTLEMENT_DEFER)
    DEAD_LETTER = "suspended"


def settle(broker: Broker, token: bytes, outcome: Outcome, reason: str | None = None,
           description: str | None = None) -> None:
    """Apply one outcome to the message a lock token names (raises MessageLockLost when expired)."""
    lock = broker.live_lock(token)
    message = lock.message
    entity = broker.entities[message.entity]
    with broker.store.transaction():
        if outcome is Outcome.COMPLETE:
            broker.drop_lock(lock)
            entity.remove(message.seq)
            broker.store.delete(entity.key, [message.seq])
        elif outcome is Outcome.ABANDON:
            # Abandon counts as a delivery attempt (docs: message transfers, locks and settlement).
            broker.release(lock, increment=True)
        elif outcome is Outcome.RELEASE:
            broker.release(lock, increment=False)
        elif outcome is Outcome.DEFER:
            broker.drop_lock(lock)
            message.state = MessageState.DEFERRED
            broker.store.update(message)
        elif outcome is Outcome.DEAD_LETTER:
            if entity.is_dead_letter:
                raise InvalidOperation("A message in a dead-letter queue cannot be dead-lettered again.")
            broker.dead_letter(entity, message, reason, description)
    # No pump here: settling frees no credit; abandon and release pump inside Broker.release.


def settle_many(broker: Broker, tokens: list[bytes], status: str, reason: str | None,
                description: str | None) -> None:
    """The management ``update-disposition`` operation (used for deferred messages)."""
    try:
        outcome = Outcome(status)
    except ValueError as exc:
        raise InvalidOperation(f"unknown disposition-status {status!r}") from exc
    for token in tokens:
        settle(broker, token, outcome, reason, description)
