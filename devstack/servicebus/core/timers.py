"""Time-driven broker work: lock and session-lock expiry, scheduled enqueue, TTL, session waits."""
from __future__ import annotations

import heapq

from devstack.servicebus.core.broker import SESSION_TIMEOUT, Broker
from devstack.servicebus.core.entity import Entity
from devstack.servicebus.core.message import MessageState

DUPLICATE_PRUNE_SECONDS = 30.0


def tick(broker: Broker) -> None:
    """Do everything that has come due by the broker's clock."""
    now = broker.clock()
    with broker.store.transaction():
        _expire_locks(broker, now)
        _expire_session_locks(broker, now)
        for entity in list(broker.entities.values()):
            _enqueue_scheduled(broker, entity, now)
            _expire_messages(broker, entity, now)
            _time_out_waiters(entity, now)
        if now >= broker.next_prune:
            broker.next_prune = now + DUPLICATE_PRUNE_SECONDS
            broker.duplicates = {k: v for k, v in broker.duplicates.items() if v > now}
            broker.store.prune_duplicates(now)


def next_due(broker: Broker) -> float:
    """The broker-clock instant of the earliest work ``tick`` may have (a heap may still hold entries already
    settled or cancelled, so this can be early, never late); ``inf`` when nothing is pending."""
    candidates = [broker.next_prune if broker.duplicates else float("inf")]
    if broker.lock_heap:
        candidates.append(broker.lock_heap[0][0])
    if broker.session_heap:
        candidates.append(broker.session_heap[0][0])
    for entity in broker.entities.values():
        if entity.scheduled:
            candidates.append(entity.scheduled[0][0])
        if entity.expiring:
            candidates.append(entity.expiring[0][0])
        candidates.extend(waiter.deadline for waiter in entity.waiters)
    return min(candidates)


def _expire_locks(broker: Broker, now: float) -> None:
    heap = broker.lock_heap
    while heap and heap[0][0] <= now:
        _, token = heapq.heappop(heap)
        lock = broker.locks.get(token)
        if lock is not None and lock.locked_until <= now:
            # An expired lock counts as a delivery attempt (docs: message locks).
            broker.release(lock, increment=True)


def _expire_session_locks(broker: Broker, now: float) -> None:
    heap = broker.session_heap
    while heap and heap[0][0] <= now:
        _, key, session_id = heapq.heappop(heap)
        entity = broker.entities.get(key)
        slot = entity.sessions.get(session_id) if entity else None
        if entity is not None and slot is not None and slot.owner is not None and slot.locked_until <= now:
            broker.expire_session(entity, slot)


def _enqueue_scheduled(broker: Broker, entity: Entity, now: float) -> None:
    while entity.scheduled and entity.scheduled[0][0] <= now:
        _, seq = heapq.heappop(entity.scheduled)
        message = entity.messages.get(seq)
        if message is None or message.state is not MessageState.SCHEDULED:
            continue
        if broker.passes_on_when_due(entity):
            # A topic (ForwardTo entity) keeps a scheduled message itself and fans it out (forwards
            # it) when it is due.
            broker.release_due_message(entity, message, now)
            continue
        message.state = MessageState.ACTIVE
        message.enqueued_at = now
        broker.store.update(message)
        entity.make_ready(message)
        broker.pump(entity)


def _expire_messages(broker: Broker, entity: Entity, now: float) -> None:
    while entity.expiring and entity.expiring[0][0] <= now:
        _, seq = heapq.heappop(entity.expiring)
        message = entity.messages.get(seq)
        if message is None or message.lock is not None or message.state is MessageState.SCHEDULED:
            continue  # a locked message expires when its lock ends (checked on release)
        broker.expire(entity, message, now)


def _time_out_waiters(entity: Entity, now: float) -> None:
    for waiter in [w for w in entity.waiters if w.deadline <= now]:
        entity.waiters.remove(waiter)
        waiter.consumer.session_closed(SESSION_TIMEOUT, "No session was available within the timeout.")
