"""Management-link operations: renew locks, peek, deferred receive, schedule, session state."""
from __future__ import annotations

import heapq
from dataclasses import dataclass

from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.entity import Entity, SessionSlot
from devstack.servicebus.core.errors import InvalidOperation, MessageNotFound, SessionLockLost
from devstack.servicebus.core.message import MessageState, StoredMessage


@dataclass(frozen=True)
class Locked:
    """A message handed out through management, with its lock (None when received-and-deleted)."""

    message: StoredMessage
    token: bytes | None
    locked_until: float | None


def renew_locks(broker: Broker, entity: Entity, tokens: list[bytes]) -> list[float]:
    """Extend message locks by the entity's lock duration; returns the new expiries."""
    now = broker.clock()
    expiries = []
    for token in tokens:
        lock = broker.live_lock(token)
        lock.locked_until = now + entity.settings.lock_duration
        heapq.heappush(broker.lock_heap, (lock.locked_until, token))
        expiries.append(lock.locked_until)
    return expiries


def peek(entity: Entity, from_seq: int, count: int, session_id: str | None) -> list[StoredMessage]:
    """Up to ``count`` messages from ``from_seq`` on, in every state, without locking them."""
    found = []
    for message in entity.in_order(from_seq):
        if session_id is not None and message.session_id != session_id:
            continue
        found.append(message)
        if len(found) >= count:
            break
    return found


def receive_deferred(broker: Broker, entity: Entity, seqs: list[int], *, peek_lock: bool,
                     owner: object, session_id: str | None) -> list[Locked]:
    """Lock (or remove) deferred messages by sequence number."""
    messages = []
    for seq in seqs:
        message = entity.messages.get(seq)
        if (message is None or message.state is not MessageState.DEFERRED or message.lock is not None
                or (session_id is not None and message.session_id != session_id)):
            raise MessageNotFound(f"Failed to retrieve deferred message with sequence number {seq}.")
        messages.append(message)
    now = broker.clock()
    result = []
    with broker.store.transaction():
        for message in messages:
            if peek_lock:
                token, locked_until = broker.lock(entity, message, owner, now)
                result.append(Locked(message, token, locked_until))
            else:
                entity.remove(message.seq)
                broker.store.delete(entity.key, [message.seq])
                result.append(Locked(message, None, None))
    return result


def cancel_scheduled(broker: Broker, path: str, seqs: list[int]) -> None:
    """Remove scheduled messages before they are enqueued."""
    entity = broker.entities.get(path.strip("/").lower())
    if entity is None:
        broker.check_sendable(path)
        raise MessageNotFound(path)
    with broker.store.transaction():
        for seq in seqs:
            message = entity.messages.get(seq)
            if message is None or message.state is not MessageState.SCHEDULED:
                raise MessageNotFound(f"The scheduled message with sequence number {seq} was not found.")
            entity.remove(seq)
            broker.store.delete(entity.key, [seq])


def _held_session(broker: Broker, entity: Entity, session_id: str) -> SessionSlot:
    if not entity.sessionful:
        raise InvalidOperation(f"The entity '{entity.settings.path}' does not support sessions.")
    slot = broker.session_slot(entity, session_id)
    if slot is None or slot.owner is None or slot.locked_until <= broker.clock():
        raise SessionLockLost(f"The session lock has expired on the session '{session_id}'.")
    return slot


def renew_session_lock(broker: Broker, entity: Entity, session_id: str) -> float:
    """Extend a held session lock; raises SessionLockLost once it has expired."""
    slot = _held_session(broker, entity, session_id)
    slot.locked_until = broker.clock() + entity.settings.lock_duration
    for lock in broker.locks.values():
        if lock.owner is slot.owner and lock.message.entity == entity.key:
            lock.locked_until = slot.locked_until
    heapq.heappush(broker.session_heap, (slot.locked_until, entity.key, session_id))
    return slot.locked_until


def get_session_state(broker: Broker, entity: Entity, session_id: str) -> bytes | None:
    """The state stored for a held session."""
    return _held_session(broker, entity, session_id).state


def set_session_state(broker: Broker, entity: Entity, session_id: str, state: bytes | None) -> None:
    """Store (or clear, with None) a held session's state durably."""
    slot = _held_session(broker, entity, session_id)
    with broker.store.transaction():
        broker.store.set_session_state(entity.key, session_id, state)
    slot.state = state
