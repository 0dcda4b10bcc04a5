"""MessageBus on azure-servicebus (sync SDK): ONE ServiceBusClient per process, created on first send.

A Python Service Bus output binding carries only the body; every message here needs SessionId,
MessageId, subject and application properties, so sends go through the SDK (docs/design.md "Rules").
"""
from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSender

from contracts.names import DELIVERIES_TOPIC
from core.ports import Outgoing
from core.settings import SERVICE_BUS_CONNECTION, Settings

log = logging.getLogger(__name__)


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

    def send(self, messages: Sequence[Outgoing]) -> None:
        """Send each entity's messages as one batch; returns once the broker accepted them."""
        by_entity: dict[str, list[Outgoing]] = defaultdict(list)
        for message in messages:
            by_entity[message.entity].append(message)
        for entity, batch in by_entity.items():
            self._send_to(entity, [to_service_bus_message(m) for m in batch])

    def close(self) -> None:
        """Close senders and the client (process shutdown)."""
        with self._lock:
            for sender in self._senders.values():
                sender.close()
            self._senders.clear()
            if self._client is not None:
                self._client.close()
                self._client = None

    def _send_to(self, entity: str, batch: list[ServiceBusMessage]) -> None:
        with self._entity_lock(entity):
            sender = self._sender(entity)
            try:
                sender.send_messages(batch)
            except Exception:
                # The SDK already retried; drop the sender so the next call starts on a fresh link.
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
