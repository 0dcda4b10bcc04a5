"""The ports handlers depend on. Handlers never import an Azure SDK; adapters implement these twice
(SDK-backed and in-memory) and the same contract tests run against both."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from contracts.messages import Message

Clock = Callable[[], datetime]
Document = dict[str, Any]


class StoreError(Exception):
    """Base of the document-store outcomes a handler may act on (anything else is transient)."""


class NotFound(StoreError):
    """The document does not exist (HTTP 404)."""


class Conflict(StoreError):
    """A document with that id already exists (HTTP 409)."""


class PreconditionFailed(StoreError):
    """The document changed since it was read: its ETag no longer matches (HTTP 412)."""


class InvalidId(StoreError):
    """Cosmos DB refuses the document id (HTTP 400): '/', '\\', '?', '#', control characters, a trailing space."""


class BatchFailed(StoreError):
    """A transactional batch was rolled back because operation ``index`` failed with ``status``."""

    def __init__(self, index: int, status: int) -> None:
        super().__init__(f"batch operation {index} failed with status {status}")
        self.index = index
        self.status = status


class TransientFault(Exception):
    """Raised on purpose (fault injection) or by an adapter for a retryable failure."""


@dataclass(frozen=True)
class BatchOperation:
    """One operation of a transactional batch (Cosmos: all or nothing within one partition)."""

    op: Literal["create", "upsert", "replace", "delete"]
    item_id: str
    document: Document | None = None
    if_match: str | None = None


class DocumentContainer(Protocol):
    """A Cosmos DB container. Returned documents carry ``_etag``."""

    def read(self, item_id: str, partition_key: str) -> Document | None:
        """The document, or None if absent."""

    def create(self, document: Document) -> Document:
        """Create; raises Conflict if the id exists in that partition."""

    def upsert(self, document: Document) -> Document:
        """Create or replace unconditionally."""

    def replace(self, document: Document, if_match: str | None = None) -> Document:
        """Replace; raises NotFound, or PreconditionFailed when ``if_match`` is stale."""

    def delete(self, item_id: str, partition_key: str) -> None:
        """Delete; raises NotFound."""

    def query_kind(self, partition_key: str, kind: str) -> list[Document]:
        """Every document of one ``kind`` in one partition."""

    def execute_batch(self, operations: Sequence[BatchOperation], partition_key: str) -> None:
        """Run the operations atomically; raises BatchFailed (nothing applied) on the first failure."""

    def query_due(self, field: str, until: str, limit: int) -> list[Document]:
        """Across partitions: up to ``limit`` documents whose string ``field`` is <= ``until`` (ISO timestamps
        compare as strings), in no particular order; documents without the field, or with null, are not returned."""


@dataclass(frozen=True)
class Outgoing:
    """A message to send, with everything a Service Bus output binding cannot carry."""

    entity: str
    message: Message
    message_id: str
    session_id: str | None
    traceparent: str | None
    scheduled_at: datetime | None = None

    @property
    def subject(self) -> str:
        """The Service Bus subject (label) is the message type (docs/design.md)."""
        return str(self.message.message_type)


class MessageBus(Protocol):
    """Sends to Service Bus entities."""

    def send(self, messages: Sequence[Outgoing]) -> Mapping[str, int]:
        """Send (or schedule) each message; returns once the broker accepted them, with the sequence number the
        broker gave each scheduled one, by MessageId (what ``cancel_scheduled`` takes)."""

    def cancel_scheduled(self, entity: str, sequence_numbers: Sequence[int]) -> None:
        """Cancel scheduled messages before they are enqueued; a number no longer scheduled (enqueued already, or
        cancelled) is skipped, as there is nothing left to cancel."""


@dataclass(frozen=True)
class Event:
    """An Event Grid event (Event Grid schema)."""

    id: str
    event_type: str
    subject: str
    data: Document
    event_time: datetime
    data_version: str


class EventPublisher(Protocol):
    """Publishes to the Event Grid topic."""

    def publish(self, events: Sequence[Event]) -> None:
        """Publish; returns once the topic accepted them."""
