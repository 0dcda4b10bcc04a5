"""MessageBus on azure-servicebus (sync SDK): ONE ServiceBusClient per process, created on first send.

A Python Service Bus output binding carries only the body; every message here needs SessionId,
MessageId, subject and application properties, so sends go through the SDK (docs/design.md "Rules").
"""
from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSender
from azure.servicebus.exceptions import MessageNotFoundError

from contracts.names import DELIVERIES_TOPIC
from core.ports import Outgoing
from core.settings import SERVICE_BUS_CONNECTION, Settings

log = logging.getLogger(__name__)
# A timeout below the SDK's first back-off (retry_backoff_factor 0.8 s x 2) makes it try once (see cancel_scheduled).
CANCEL_TIMEOUT_SECONDS = 1.0


class ServiceBusMessageBus:
    """Sends through one shared client; one sender per entity, each used under its own lock
    (azure-servicebus senders are not thread-safe, and the host runs sync functions on a thread pool)."""

    def __init__(self, settings: Settings,
                 connect: Callable[[Settings], ServiceBusClient] | None = None) -> None:
        self._settings = settings
        self._connect = connect or _connect
        self._client: ServiceBusClient | None = None
        self._senders: dict[str, ServiceBusSender] = {}
        self._locks: dict[str, threading.Lock] = {}   # per entity; created and looked up only under self._lock
        self._lock = threading.Lock()

    def send(self, messages: Sequence[Outgoing]) -> dict[str, int]:
        """Send each entity's messages as one batch, and schedule its timers with one request per enqueue time
        (the management operation returns their sequence numbers, which a plain send does not); returns once the
        broker accepted them, with the scheduled messages' sequence numbers by MessageId."""
        now: dict[str, list[Outgoing]] = defaultdict(list)
        later: dict[tuple[str, datetime], list[Outgoing]] = defaultdict(list)
        for message in messages:
            if message.scheduled_at is None:
                now[message.entity].append(message)
            else:
                later[(message.entity, message.scheduled_at)].append(message)
        for entity, batch in now.items():
            with self._sender_for(entity) as sender:
                sender.send_messages([to_service_bus_message(m) for m in batch])
        scheduled: dict[str, int] = {}
        for (entity, at), batch in later.items():
            with self._sender_for(entity) as sender:
                numbers = sender.schedule_messages([to_service_bus_message(m) for m in batch], at)
            scheduled.update(zip((m.message_id for m in batch), numbers, strict=True))
        return scheduled

    def cancel_scheduled(self, entity: str, sequence_numbers: Sequence[int]) -> None:
        """Cancel one by one: the broker refuses a whole request when one number is no longer scheduled
        (MessageNotFoundError: enqueued already, or cancelled), and that one is simply skipped.

        Bounded by CANCEL_TIMEOUT_SECONDS and never retried: azure-servicebus 7.15 retries MessageNotFoundError
        like a transient error (three back-offs, 11 s here, holding the entity's one sender), and a cancel is an
        optimisation whose failure costs only a stale timer's visit."""
        for number in sequence_numbers:
            try:
                with self._sender_for(entity) as sender:
                    sender.cancel_scheduled_messages(number, timeout=CANCEL_TIMEOUT_SECONDS)
            except MessageNotFoundError:
                log.debug("scheduled message %s on %s is no longer scheduled; nothing to cancel", number, entity)

    def close(self) -> None:
        """Close senders and the client (process shutdown)."""
        with self._lock:
            for sender in self._senders.values():
                sender.close()
            self._senders.clear()
            if self._client is not None:
                self._client.close()
                self._client = None

    @contextmanager
    def _sender_for(self, entity: str) -> Iterator[ServiceBusSender]:
        """The entity's sender, used under its lock; dropped when a call on it fails, so the next one starts on a
        fresh link (the SDK retried already)."""
        with self._entity_lock(entity):
            sender = self._sender(entity)
            try:
                yield sender
            except MessageNotFoundError:
                raise  # an answer about the request, not a broken link
            except Exception:
                self._drop_sender(entity)
                raise

    def _entity_lock(self, entity: str) -> threading.Lock:
        # Under the bus lock: two threads asking for a new entity at once must get the same lock, or they
        # would use the one (not thread-safe) sender concurrently.
        with self._lock:
            return self._locks.setdefault(entity, threading.Lock())

    def _sender(self, entity: str) -> ServiceBusSender:
        with self._lock:
            if self._client is None:
                self._client = self._connect(self._settings)
            if entity not in self._senders:
                client = self._client
                self._senders[entity] = (client.get_topic_sender(entity) if entity == DELIVERIES_TOPIC
                                         else client.get_queue_sender(entity))
            return self._senders[entity]

    def _drop_sender(self, entity: str) -> None:
        with self._lock:
            sender = self._senders.pop(entity, None)
        if sender is not None:
            try:
                sender.close()
            except Exception:
                log.debug("closing a failed sender for %s failed", entity, exc_info=True)


def to_service_bus_message(outgoing: Outgoing) -> ServiceBusMessage:
    """The SDK message: JSON body, subject = messageType, deterministic MessageId, session, trace context."""
    properties: dict[str | bytes, Any] = {"messageType": outgoing.subject}
    if outgoing.traceparent:
        # W3C traceparent, and Diagnostic-Id as the Service Bus SDKs' own tracing reads it. With tracing on it is
        # the context of the app's producer span (core/telemetry.py TracedMessageBus).
        properties.update({"traceparent": outgoing.traceparent, "Diagnostic-Id": outgoing.traceparent})
    return ServiceBusMessage(
        json.dumps(outgoing.message.to_json_dict()), content_type="application/json",
        message_id=outgoing.message_id, session_id=outgoing.session_id, subject=outgoing.subject,
        correlation_id=outgoing.message.delivery_id, application_properties=properties,
        scheduled_enqueue_time_utc=outgoing.scheduled_at,
    )


def _connect(settings: Settings) -> ServiceBusClient:
    connection = settings.get(SERVICE_BUS_CONNECTION)
    if connection:
        return ServiceBusClient.from_connection_string(connection)
    namespace = settings.get(f"{SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace")
    if not namespace:
        raise RuntimeError(f"set {SERVICE_BUS_CONNECTION} or {SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace")
    from azure.identity import DefaultAzureCredential  # only on the managed-identity path
    return ServiceBusClient(namespace, credential=DefaultAzureCredential())
