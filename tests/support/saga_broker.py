"""The saga router's broker core (sans-I/O, driven by a ManualClock): where accepted messages land by the rules
of resources/Config.json, and what peek-lock settlement does to them — fan-out, rules, ForwardTo, sessions,
scheduled messages, MaxDeliveryCount, TTL and dead-letter queues. It invokes nothing; saga_router does.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.memory import ManualClock
from adapters.servicebus import to_service_bus_message
from core.ports import Outgoing
from tests.support.saga_topology import Facts, Topology, TopologyError, dead_letter_path, normalize

# The lock of a message whose function is running: the host renews it until the function returns.
HELD = datetime.max.replace(tzinfo=UTC)
Lane = tuple[str, "str | None"]  # (entity path, session id) — the unit the router serves round-robin


class RoutingError(Exception):
    """Something the real broker or host would refuse (an unknown entity, a session queue without SessionId...)."""


@dataclass
class RoutedMessage:
    """A message as the broker keeps it and as a trigger receives it: duck-types ``ServiceBusReceivedMessage``."""

    body: bytes
    message_id: str
    subject: str | None
    session_id: str | None
    sequence_number: int
    entity: str
    application_properties: dict[bytes, bytes]  # bytes keys and values, as the SDK hands them over
    correlation_id: str | None = None
    content_type: str | None = None
    enqueued_time_utc: datetime | None = None  # when it is (or becomes) available: a schedule's time
    scheduled_enqueue_time_utc: datetime | None = None
    expires_at_utc: datetime | None = None
    delivery_count: int = 0  # deliveries so far; a trigger sees 1 on the first (as the Functions trigger counts)
    locked_until: datetime | None = None  # after a crash or no settlement: the lock lapses LockDuration later
    deferred: bool = False
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None
    dead_letter_source: str | None = None

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    def ready(self, now: datetime) -> bool:
        """Available to a receiver now: due, not deferred, not locked."""
        return not self.deferred and (self.enqueued_time_utc is None or self.enqueued_time_utc <= now) and \
            (self.locked_until is None or self.locked_until <= now)


class Broker:
    """Entities holding messages in sequence-number order; lanes remembered in the order they first appeared."""

    def __init__(self, topology: Topology, clock: ManualClock) -> None:
        self.topology, self.clock = topology, clock
        self.lanes: dict[Lane, None] = {}
        self._messages: dict[str, list[RoutedMessage]] = {}
        self._dead_lettered: dict[str, list[RoutedMessage]] = {}
        self._sequence = 0

    def accept(self, outgoing: Outgoing) -> None:
        """Take one message the bus accepted (duplicate detection already happened there) and route it."""
        sdk = to_service_bus_message(outgoing)  # the production serialization: body, properties, correlation id
        self._sequence += 1
        now = self.clock()
        self._route(RoutedMessage(
            body=b"".join(sdk.body), message_id=outgoing.message_id, subject=sdk.subject, session_id=sdk.session_id,
            sequence_number=self._sequence, entity=normalize(outgoing.entity),
            application_properties={str(k).encode(): str(v).encode()
                                    for k, v in (sdk.application_properties or {}).items()},
            correlation_id=sdk.correlation_id, content_type=sdk.content_type,
            enqueued_time_utc=max(now, outgoing.scheduled_at or now), scheduled_enqueue_time_utc=outgoing.scheduled_at),
            normalize(outgoing.entity))

    def pending(self, path: str) -> list[RoutedMessage]:
        """Copies of what an entity still holds (available, scheduled, locked or deferred)."""
        return [copy.copy(m) for m in self._messages.get(normalize(path), [])]

    def dead_letters(self, path: str) -> list[RoutedMessage]:
        """Copies of every message ever moved to the entity's dead-letter queue."""
        return [copy.copy(m) for m in self._dead_lettered.get(dead_letter_path(path), [])]

    def ready(self, lane: Lane) -> list[RoutedMessage]:
        """What a receiver of the lane may take now: a session offers only its head, and nothing while locked."""
        path, session = lane
        now, messages = self.clock(), self._messages.get(path, [])
        if not self.topology.entity(path).requires_session:
            return [m for m in messages if m.ready(now)]
        mine = [m for m in messages if m.session_id == session]
        if any(m.locked_until and m.locked_until > now for m in mine):
            return []  # session locked: a message of it is in flight, or a crashed receiver's lock has not lapsed
        return [m for m in mine if m.ready(now)][:1]

    def next_due(self, paths: Collection[str]) -> datetime | None:
        """The next time a message of these entities becomes available (a schedule, or a lapsing lock)."""
        now = self.clock()
        times = [t for path in paths for m in self._messages.get(path, []) if not m.deferred
                 for t in (m.enqueued_time_utc, m.locked_until) if t is not None and now < t < HELD]
        return min(times, default=None)

    def find(self, path: str, sequence_number: int) -> RoutedMessage:
        """The broker's own copy of a message."""
        return next(m for m in self._messages[path] if m.sequence_number == sequence_number)

    def lock(self, message: RoutedMessage) -> RoutedMessage:
        """Deliver: count it and hold its lock; returns the copy the trigger gets."""
        message.delivery_count += 1
        received = replace(message, locked_until=None)
        message.locked_until = HELD
        return received

    def settle(self, message: RoutedMessage, verb: str, reason: str | None = None,
               description: str | None = None) -> None:
        """Apply what the invocation ended with: complete / deadletter / defer / abandon, or anything else = the
        lock lapsed (a crash, an error without abandon, no settlement at all)."""
        message.locked_until = None
        if verb == "complete":
            self._messages[message.entity].remove(message)
        elif verb == "deadletter":
            self._dead_letter(message, reason, description)
        elif verb == "defer":
            message.deferred = True  # kept, never delivered again by itself
        else:
            entity = self.topology.entity(message.entity)
            if verb != "abandon":
                message.locked_until = self.clock() + timedelta(seconds=entity.lock_seconds)
            if entity.max_delivery_count is not None and message.delivery_count >= entity.max_delivery_count:
                self._dead_letter(message, "MaxDeliveryCountExceeded",
                                  f"Message could not be consumed after {entity.max_delivery_count} delivery attempts.")

    def cancel(self, outgoing: Outgoing) -> None:
        """Take a scheduled message out before it is due (the bus cancelled it: MessageBus.cancel_scheduled)."""
        now, path = self.clock(), normalize(outgoing.entity)
        messages = self._messages.get(path, [])
        messages[:] = [m for m in messages if not (m.message_id == outgoing.message_id and m.enqueued_time_utc
                                                   and m.enqueued_time_utc > now and m.delivery_count == 0)]

    def expire(self) -> None:
        """Messages past their TTL leave their entity, dead-lettered where DeadLetteringOnMessageExpiration is on."""
        now = self.clock()
        for path, messages in list(self._messages.items()):
            for message in [m for m in messages if m.expires_at_utc and m.expires_at_utc <= now and not m.deferred
                            and not (m.locked_until and m.locked_until > now)]:
                if self.topology.entity(path).dead_letter_on_expiry:
                    self._dead_letter(message, "TTLExpiredException", "The message expired and was dead lettered.")
                else:
                    messages.remove(message)

    def _route(self, message: RoutedMessage, target: str) -> None:
        props = {k.decode(): v.decode() for k, v in message.application_properties.items()}
        facts = Facts({"Label": message.subject, "MessageId": message.message_id, "SessionId": message.session_id,
                       "CorrelationId": message.correlation_id, "ContentType": message.content_type}, props)
        try:
            entities = self.topology.targets(target, facts)
        except TopologyError as exc:
            raise RoutingError(str(exc)) from exc
        for entity in entities:
            if entity.forward_to:
                # Auto-forwarding re-sends into the target (SessionId and all), where it gets a new sequence number.
                self._sequence += 1
                self._route(replace(message, sequence_number=self._sequence), entity.forward_to)
                continue
            if entity.requires_session and not message.session_id:
                raise RoutingError(f"{entity.path} requires a SessionId; the broker refuses {message.message_id}")
            ttl, enqueued = entity.ttl_seconds, message.enqueued_time_utc
            self._place(replace(message, entity=entity.path,
                                expires_at_utc=enqueued + timedelta(seconds=ttl) if ttl and enqueued else None))

    def _place(self, message: RoutedMessage) -> None:
        # Fan-out copies share the topic's sequence number (as on Service Bus); each entity keeps its own order.
        messages = self._messages.setdefault(message.entity, [])
        messages.append(message)
        messages.sort(key=lambda m: m.sequence_number)
        session = message.session_id if self.topology.entity(message.entity).requires_session else None
        self.lanes.setdefault((message.entity, session))

    def _dead_letter(self, message: RoutedMessage, reason: str | None, description: str | None) -> None:
        self._messages[message.entity].remove(message)
        # A dead letter keeps its sequence number and delivery count; it is available at once and never expires.
        dead = replace(message, entity=dead_letter_path(message.entity), locked_until=None, deferred=False,
                       expires_at_utc=None, dead_letter_reason=reason, dead_letter_error_description=description,
                       dead_letter_source=message.entity)
        self._dead_lettered.setdefault(dead.entity, []).append(copy.copy(dead))
        self._place(dead)
