"""Service Bus semantics: routing, delivery, locks, settlement, sessions, timers (no I/O, takes a clock)."""
from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterable

from devstack.servicebus.core.entity import DEAD_LETTER_SUFFIX, Consumer, Entity, SessionSlot, Waiter
from devstack.servicebus.core.errors import (
    EntityNotFound,
    InvalidOperation,
    MessageLockLost,
    MessageSizeExceeded,
    SessionCannotBeLocked,
)
from devstack.servicebus.core.filters import MessageFacts
from devstack.servicebus.core.message import DeadLetterInfo, Envelope, Lock, MessageState, StoredMessage
from devstack.servicebus.core.ports import Clock, MessageStore
from devstack.servicebus.core.topology import EntitySettings, TopicSettings, Topology

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024  # Standard tier limit (docs: Service Bus quotas)
MAX_FORWARD_HOPS = 4  # docs: auto-forwarding chains at most 4 hops (MaxTransferHopCountExceeded)
SESSION_TIMEOUT = "timeout"
SESSION_LOCK_LOST = "session-lock-lost"
_NO_FACTS = MessageFacts({}, {})


class Broker:
    """All entities of one namespace and the operations clients perform on them."""

    def __init__(self, topology: Topology, store: MessageStore, clock: Clock,
                 read_facts: Callable[[bytes], MessageFacts] | None = None) -> None:
        self.store = store
        self.clock = clock
        # Filters need a message's properties again when a scheduled topic message comes due; only the
        # wire layer can decode the stored bytes, so it lends its decoder.
        self.read_facts = read_facts or (lambda payload: _NO_FACTS)
        self.entities: dict[str, Entity] = {}
        self.topics: dict[str, TopicSettings] = dict(topology.topics)
        self.locks: dict[bytes, Lock] = {}
        self.duplicates: dict[tuple[str, str], float] = {}
        self.lock_heap: list[tuple[float, bytes]] = []
        self.session_heap: list[tuple[float, str, str]] = []
        self.next_prune = 0.0
        for settings in topology.queues.values():
            self._add_entity(settings)
        for topic in topology.topics.values():
            # The topic itself only holds scheduled messages until they are due and fanned out.
            self.entities[topic.path.lower()] = Entity(topic.path.lower(), EntitySettings(
                path=topic.path, default_ttl=topic.default_ttl))
            for sub in topic.subscriptions:
                self._add_entity(sub)
        self._restore()

    def _add_entity(self, settings: EntitySettings) -> None:
        key = settings.path.lower()
        entity = self.entities[key] = Entity(key, settings)
        dlq_settings = EntitySettings(path=settings.path + "/$DeadLetterQueue",
                                      lock_duration=settings.lock_duration, max_delivery_count=2**31)
        entity.dead_letter = Entity(key + DEAD_LETTER_SUFFIX, dlq_settings, is_dead_letter=True)
        self.entities[entity.dead_letter.key] = entity.dead_letter

    def _restore(self) -> None:
        snapshot = self.store.load()
        for key, seq in snapshot.sequences.items():
            if key in self.entities:
                self.entities[key].last_seq = seq
        for message in snapshot.messages:
            entity = self.entities.get(message.entity)
            if entity is None:
                log.warning("dropping stored message %s of unknown entity %s", message.seq, message.entity)
                continue
            entity.add(message)
        for (key, session_id), state in snapshot.session_states.items():
            if key in self.entities:
                self.entities[key].session(session_id).state = state
        self.duplicates = dict(snapshot.duplicates)
        log.info("restored %d messages", len(snapshot.messages))

    # --- addressing -------------------------------------------------------------------------

    def receivable(self, path: str) -> Entity:
        """The queue, subscription or dead-letter queue a receiver or management link names."""
        entity = self.entities.get(path.strip("/").lower())
        if entity is None or entity.key in self.topics:
            raise EntityNotFound(f"The messaging entity '{path}' could not be found.")
        return entity

    def _sendable_key(self, path: str) -> str:
        key = path.strip("/").lower()
        if key in self.topics or (key in self.entities and "/" not in key):
            return key
        if key in self.entities:
            raise InvalidOperation(f"Cannot send to '{path}': only queues and topics accept messages.")
        raise EntityNotFound(f"The messaging entity '{path}' could not be found.")

    def check_sendable(self, path: str) -> None:
        """Raise unless ``path`` names a queue or topic (sender link attach)."""
        self._sendable_key(path)

    # --- sending ------------------------------------------------------------------------------

    def send(self, path: str, envelopes: Iterable[Envelope]) -> list[int]:
        """Accept messages durably; returns each one's sequence number in the entity it was sent to (0 for one
        dropped as a duplicate, fanned out from a topic or forwarded on)."""
        key = self._sendable_key(path)
        batch = list(envelopes)
        for envelope in batch:
            self._validate(key, envelope)
        now = self.clock()
        with self.store.transaction():
            return [self._accept(key, e, now, 0) for e in batch]

    def _validate(self, key: str, envelope: Envelope) -> None:
        if envelope.size > MAX_MESSAGE_BYTES:
            raise MessageSizeExceeded(
                f"The received message (size {envelope.size} bytes) exceeds the limit ({MAX_MESSAGE_BYTES} bytes).")
        entity = self.entities[key]
        if entity.sessionful and not envelope.session_id and not entity.settings.forward_to:
            raise InvalidOperation(
                f"The SessionId was not set on a message, and it cannot be sent to the entity '{entity.settings.path}'."
                " Entities that have session support enabled can only receive messages that have the SessionId set.")

    def _accept(self, key: str, envelope: Envelope, now: float, hops: int, *, dedupe: bool = True) -> int:
        """Route one message into a queue or topic (after duplicate detection); returns its seq there, or 0."""
        topic = self.topics.get(key)
        settings = topic or self.entities[key].settings
        if dedupe and settings.requires_duplicate_detection and self._is_duplicate(key, settings.duplicate_window,
                                                                         envelope, now):
            log.info("duplicate MessageId %s on %s dropped", envelope.message_id, key)
            return 0
        if topic is None:
            return self._into(self.entities[key], envelope, now, hops)
        if envelope.scheduled_at is not None and envelope.scheduled_at > now:
            return self._into(self.entities[key], envelope, now, hops)
        for sub in topic.subscriptions:
            if any(rule.filter.matches(envelope.facts) for rule in sub.rules):
                self._into(self.entities[sub.path.lower()], envelope, now, hops, topic.default_ttl)
        return 0

    def _is_duplicate(self, key: str, window: float, envelope: Envelope, now: float) -> bool:
        if not envelope.message_id:
            return False
        remembered = self.duplicates.get((key, envelope.message_id))
        if remembered is not None and remembered > now:
            return True
        self.duplicates[(key, envelope.message_id)] = now + window
        self.store.add_duplicate(key, envelope.message_id, now + window)
        return False

    def _into(self, entity: Entity, envelope: Envelope, now: float, hops: int,
              ttl_cap: float | None = None, dead_letter: DeadLetterInfo | None = None) -> int:
        """Store a message in one entity (or forward it on); returns its seq there (0 if forwarded on)."""
        scheduled = envelope.scheduled_at is not None and envelope.scheduled_at > now
        target = entity.settings.forward_to
        # A scheduled message waits in the entity it was sent to (so it can be cancelled by the
        # sequence number it was given there) and is forwarded when due, as a topic's is fanned out.
        forward_to = target if target and key_is_not_self(target, entity) and dead_letter is None and not scheduled \
            else None
        if forward_to is not None and hops < MAX_FORWARD_HOPS:
            return self._accept(forward_to.lower(), envelope, now, hops + 1)
        message = StoredMessage(
            entity=entity.key, seq=entity.next_seq(), payload=envelope.payload,
            message_id=envelope.message_id, session_id=envelope.session_id, enqueued_at=now,
            # A scheduled time already past still shows as ScheduledEnqueueTimeUtc, as on Azure.
            scheduled_at=envelope.scheduled_at,
            state=MessageState.SCHEDULED if scheduled else MessageState.ACTIVE, dead_letter=dead_letter)
        message.expires_at = _expiry(envelope.ttl, [ttl_cap, entity.settings.default_ttl],
                                     max(envelope.scheduled_at or now, now))
        if forward_to is not None:
            # docs (auto-forwarding): a message is dead-lettered after more than 4 forwarding hops,
            # so a forwarding cycle ends in a dead-letter queue.
            self._store_dead_letter(entity, message, DeadLetterInfo(
                "MaxTransferHopCountExceeded", f"The message was forwarded more than {MAX_FORWARD_HOPS} times."),
                now)
            return 0
        if entity.sessionful and not envelope.session_id and not (scheduled and target):
            self._store_dead_letter(entity, message, DeadLetterInfo("Session ID is null", None), now)
            return 0
        self.store.insert(message)
        entity.add(message)
        self.pump(entity)
        # Azure's schedule-message answers a sequence number for every message it took, also for one whose time
        # had already passed (enqueued at once); a cancel of that number then finds nothing scheduled.
        return message.seq

    # --- receivers ----------------------------------------------------------------------------

    def attach(self, path: str, consumer: Consumer, session: str | None, *, sessionful: bool,
               timeout: float) -> Entity:
        """Register a receiver; session receivers get ``session_assigned``/``session_closed`` callbacks."""
        entity = self.receivable(path)
        if entity.sessionful != sessionful:
            kind = "requires" if entity.sessionful else "does not support"
            raise InvalidOperation(f"The entity '{entity.settings.path}' {kind} sessions.")
        if sessionful and session is not None:
            slot = entity.session(session)
            if slot.owner is not None and slot.owner is not consumer:
                raise SessionCannotBeLocked(
                    f"The requested session '{session}' cannot be accepted. It may be locked by another receiver.")
            entity.consumers.append(consumer)
            self._lock_session(entity, slot, consumer)
        else:
            entity.consumers.append(consumer)
            if sessionful:
                entity.waiters.append(Waiter(consumer, self.clock() + timeout))
        self.pump(entity)
        return entity

    def _lock_session(self, entity: Entity, slot: SessionSlot, consumer: Consumer) -> None:
        entity.lock_session(slot, consumer)
        slot.locked_until = self.clock() + entity.settings.lock_duration
        consumer.session_id = slot.session_id
        heapq.heappush(self.session_heap, (slot.locked_until, entity.key, slot.session_id))
        consumer.session_assigned(slot.session_id, slot.locked_until)

    def _assign_waiters(self, entity: Entity) -> None:
        while entity.waiters:
            slot = entity.free_session_with_messages()
            if slot is None:
                return
            waiter = entity.waiters.pop(0)
            self._lock_session(entity, slot, waiter.consumer)

    def detach(self, entity: Entity, consumer: Consumer) -> None:
        """A receiver went away: release its session and its locks so others get the messages."""
        if consumer in entity.consumers:
            entity.consumers.remove(consumer)
        entity.waiters = [w for w in entity.waiters if w.consumer is not consumer]
        with self.store.transaction():
            for lock in [lk for lk in self.locks.values() if lk.owner is consumer]:
                # Closing a session receiver does not count as a delivery attempt (docs: sessions);
                # a plain receiver that vanished is treated like an expired lock.
                self.release(lock, increment=not entity.sessionful)
        slot = entity.sessions.get(consumer.session_id or "")
        if slot is not None and slot.owner is consumer:
            entity.unlock_session(slot)
        self.pump(entity)

    def pump(self, entity: Entity) -> None:
        """Hand ready messages to receivers that have credit."""
        if entity.sessionful:
            self._assign_waiters(entity)
            for consumer in list(entity.consumers):
                slot = entity.sessions.get(consumer.session_id or "")
                while slot is not None and slot.owner is consumer and consumer.credit() > 0:
                    message = entity.pop_ready(slot.ready)
                    if message is None:
                        break
                    self._hand_over(entity, consumer, message)
            return
        while entity.consumers and entity.ready:
            handed = False
            for consumer in list(entity.consumers):
                if consumer.credit() <= 0:
                    continue
                message = entity.pop_ready(entity.ready)
                if message is None:
                    return
                self._hand_over(entity, consumer, message)
                handed = True
            if not handed:
                return

    def _hand_over(self, entity: Entity, consumer: Consumer, message: StoredMessage) -> None:
        now = self.clock()
        if message.expires_at is not None and message.expires_at <= now:
            with self.store.transaction():
                self.expire(entity, message, now)
            return
        if not consumer.peek_lock:
            with self.store.transaction():
                self.store.delete(entity.key, [message.seq])
                entity.remove(message.seq)
            consumer.deliver(message, None, None)
            return
        token, locked_until = self.lock(entity, message, consumer, now)
        consumer.deliver(message, token, locked_until)

    def lock(self, entity: Entity, message: StoredMessage, owner: object, now: float) -> tuple[bytes, float]:
        """Peek-lock a message for ``owner``; returns the lock token and expiry."""
        slot = entity.sessions.get(message.session_id or "") if entity.sessionful else None
        locked_until = slot.locked_until if slot is not None and slot.owner is owner else \
            now + entity.settings.lock_duration
        token = new_lock_token()
        lock = Lock(token, message, owner, locked_until, previous_state=message.state)
        message.lock = lock
        self.locks[token] = lock
        if slot is None or slot.owner is not owner:
            heapq.heappush(self.lock_heap, (locked_until, token))
        return token, locked_until

    # --- settlement and expiry (used by settlement.py, management.py and timers.py) ------------

    def live_lock(self, token: bytes) -> Lock:
        """The lock a token names, if it has not expired."""
        lock = self.locks.get(token)
        if lock is None or lock.locked_until <= self.clock():
            raise MessageLockLost("The lock supplied is invalid. Either the lock expired, or the message "
                                  "has already been removed from the queue.")
        return lock

    def drop_lock(self, lock: Lock) -> Entity:
        """Forget a lock; returns the entity its message rests in."""
        self.locks.pop(lock.token, None)
        lock.message.lock = None
        return self.entities[lock.message.entity]

    def release(self, lock: Lock, *, increment: bool) -> None:
        """Unlock a message for redelivery (counting a delivery attempt if ``increment``)."""
        entity = self.drop_lock(lock)
        message = lock.message
        if message.seq not in entity.messages:
            return
        now = self.clock()
        if increment:
            message.delivery_count += 1
            if message.delivery_count >= entity.settings.max_delivery_count:
                self.dead_letter(entity, message, "MaxDeliveryCountExceeded",
                                 f"Message could not be consumed after {message.delivery_count} delivery attempts.")
                return
            self.store.update(message)
        if message.expires_at is not None and message.expires_at <= now:
            self.expire(entity, message, now)
            return
        message.state = lock.previous_state
        if message.state is MessageState.ACTIVE:
            entity.make_ready(message)
        self.pump(entity)

    def dead_letter(self, entity: Entity, message: StoredMessage, reason: str | None,
                    description: str | None) -> None:
        """Move a message to its dead-letter queue (or where ForwardDeadLetteredMessagesTo says)."""
        if message.lock is not None:
            self.drop_lock(message.lock)
        entity.remove(message.seq)
        self.store.delete(entity.key, [message.seq])
        self._store_dead_letter(entity, message, DeadLetterInfo(reason, description), self.clock())

    def _store_dead_letter(self, entity: Entity, message: StoredMessage, info: DeadLetterInfo,
                           now: float) -> None:
        forward = entity.settings.forward_dead_letters_to
        if forward and not entity.is_dead_letter and forward.lower() in self.entities:
            info.source = entity.settings.path
            envelope = Envelope(message.payload, self.read_facts(message.payload), message.message_id,
                                message.session_id)
            if forward.lower() in self.topics:
                self._accept(forward.lower(), envelope, now, 1, dedupe=False)
            else:
                self._into(self.entities[forward.lower()], envelope, now, 1, dead_letter=info)
            return
        dlq = entity.dead_letter if entity.dead_letter is not None else entity
        copy = StoredMessage(entity=dlq.key, seq=dlq.next_seq(), payload=message.payload,
                             message_id=message.message_id, session_id=message.session_id,
                             enqueued_at=message.enqueued_at, delivery_count=message.delivery_count,
                             dead_letter=info)
        self.store.insert(copy)
        dlq.add(copy)
        self.pump(dlq)

    def expire(self, entity: Entity, message: StoredMessage, now: float) -> None:
        """TTL ran out: dead-letter (if the entity says so) or drop the message."""
        if entity.settings.dead_letter_on_expiry:
            self.dead_letter(entity, message, "TTLExpiredException", "The message expired and was dead lettered.")
            return
        entity.remove(message.seq)
        self.store.delete(entity.key, [message.seq])

    def passes_on_when_due(self, entity: Entity) -> bool:
        """True for a topic or ForwardTo entity: it keeps scheduled messages only until they are due."""
        target = entity.settings.forward_to
        return entity.key in self.topics or (bool(target) and key_is_not_self(target or "", entity))

    def release_due_message(self, entity: Entity, message: StoredMessage, now: float) -> None:
        """A scheduled message of a topic or ForwardTo entity came due: fan it out or forward it now."""
        entity.remove(message.seq)
        self.store.delete(entity.key, [message.seq])
        start = message.scheduled_at or message.enqueued_at
        ttl = message.expires_at - start if message.expires_at is not None else None
        envelope = Envelope(message.payload, self.read_facts(message.payload), message.message_id,
                            message.session_id, ttl=ttl, scheduled_at=message.scheduled_at)
        if entity.key in self.topics:
            self._accept(entity.key, envelope, now, 0, dedupe=False)
        else:
            self._accept((entity.settings.forward_to or "").lower(), envelope, now, 1)

    def session_slot(self, entity: Entity, session_id: str) -> SessionSlot | None:
        """The slot of a session someone holds or that has messages or state (else None)."""
        return entity.sessions.get(session_id)

    def expire_session(self, entity: Entity, slot: SessionSlot) -> None:
        """A session lock ran out: unlock the session, redeliver its locked messages later."""
        owner = slot.owner
        entity.unlock_session(slot)
        for lock in [lk for lk in self.locks.values() if lk.owner is owner and lk.message.entity == entity.key]:
            # An expired session lock counts as a failed delivery (docs: message sessions).
            self.release(lock, increment=True)
        if owner is not None:
            owner.session_closed(SESSION_LOCK_LOST, f"The session lock has expired on the session '{slot.session_id}'.")


_TOKENS = random.Random()


def new_lock_token() -> bytes:
    """16 random bytes for a lock token / delivery tag.

    Unguessability is not needed on a local broker, and uuid4 costs a getrandom() syscall per message.
    """
    return _TOKENS.getrandbits(128).to_bytes(16, "little")


def key_is_not_self(target: str, entity: Entity) -> bool:
    """Guard against a queue that forwards to itself."""
    return target.lower() != entity.key


def _expiry(message_ttl: float | None, caps: list[float | None], start: float) -> float | None:
    """When a message expires: its TTL, capped by the entity defaults (docs: message expiration)."""
    limits = [t for t in [message_ttl, *caps] if t is not None and t > 0]
    return start + min(limits) if limits else None
