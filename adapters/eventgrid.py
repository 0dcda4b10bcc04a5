"""EventPublisher on azure-eventgrid (sync SDK, Event Grid schema), one client per process, created on first use."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.eventgrid import EventGridEvent, EventGridPublisherClient

from core.ports import Event
from core.settings import EVENT_GRID_ENDPOINT, EVENT_GRID_KEY, Settings

# The outbox retries a failed publish with its own back-off (core/outbox.py), so the SDK's retries
# (azure-core's RetryPolicy: 3 retries, exponential from 0.8 s) would only hold the caller longer during an
# outage; one quick retry for a dropped connection, and short timeouts, keep Event Grid off the critical path.
CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 1, "retry_backoff_factor": 0.2, "connection_timeout": 5,
                                  "read_timeout": 10}


class EventGridEventPublisher:
    """Publishes to the topic in ``EventGridTopicEndpoint`` with ``EventGridTopicKey`` (or managed identity)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: EventGridPublisherClient | None = None
        self._lock = threading.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        """Send the events in one request; the topic answers 200 once it accepted them."""
        self._get_client().send([
            EventGridEvent(subject=e.subject, event_type=e.event_type, data=e.data, data_version=e.data_version,
                           id=e.id, event_time=e.event_time)
            for e in events
        ])

    def _get_client(self) -> EventGridPublisherClient:
        with self._lock:
            if self._client is None:
                endpoint = self._settings.get(EVENT_GRID_ENDPOINT)
                if not endpoint:
                    raise RuntimeError(f"set {EVENT_GRID_ENDPOINT}")
                key = self._settings.get(EVENT_GRID_KEY)
                if key:
                    self._client = EventGridPublisherClient(endpoint, AzureKeyCredential(key), **CLIENT_OPTIONS)
                else:
                    from azure.identity import DefaultAzureCredential  # managed identity (TLS endpoints only)
                    self._client = EventGridPublisherClient(endpoint, DefaultAzureCredential(), **CLIENT_OPTIONS)
            return self._client
