"""In-memory fakes of the ports, with the semantics the SDK-backed adapters have (ETags, 409/412,
atomic batches, broker duplicate detection) so unit tests exercise the same rules as production."""
from __future__ import annotations

import copy
import itertools
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from core.ports import (
    BatchFailed,
    BatchOperation,
    Clock,
    Conflict,
    Document,
    Event,
    InvalidId,
    NotFound,
    Outgoing,
    PreconditionFailed,
)


class InMemoryContainer:
    """A Cosmos container: documents keyed by (partition key value, id), each write gets a new ETag."""

    def __init__(self, partition_key_path: str = "/id") -> None:
        self._path = partition_key_path.lstrip("/")
        self._docs: dict[tuple[str, str], Document] = {}
        self._etags = itertools.count(1)
        self._lock = threading.RLock()

    def read(self, item_id: str, partition_key: str) -> Document | None:
        """The document, or None if absent."""
        with self._lock:
            doc = self._docs.get((partition_key, item_id))
            return copy.deepcopy(doc) if doc is not None else None

    def create(self, document: Document) -> Document:
        """Create; Conflict if the id exists in that partition."""
        with self._lock:
            if self._key(document) in self._docs:
                raise Conflict(document["id"])
            return self._store(document)

    def upsert(self, document: Document) -> Document:
        """Create or replace unconditionally."""
        with self._lock:
            return self._store(document)

    def replace(self, document: Document, if_match: str | None = None) -> Document:
        """Replace; NotFound, or PreconditionFailed on a stale ETag."""
        with self._lock:
            current = self._docs.get(self._key(document))
            if current is None:
                raise NotFound(document["id"])
            if if_match is not None and current["_etag"] != if_match:
                raise PreconditionFailed(document["id"])
            return self._store(document)

    def delete(self, item_id: str, partition_key: str) -> None:
        """Delete; NotFound if absent."""
        with self._lock:
            if self._docs.pop((partition_key, item_id), None) is None:
                raise NotFound(item_id)

    def query_kind(self, partition_key: str, kind: str) -> list[Document]:
        """Every document of one kind in one partition."""
        with self._lock:
            return [copy.deepcopy(d) for (pk, _), d in self._docs.items()
                    if pk == partition_key and d.get("kind") == kind]

    def execute_batch(self, operations: Sequence[BatchOperation], partition_key: str) -> None:
        """All or nothing: on the first failure restore the snapshot and raise BatchFailed."""
        with self._lock:
            snapshot = dict(self._docs)
            for index, operation in enumerate(operations):
                try:
                    self._apply(operation, partition_key)
                except (Conflict, NotFound, PreconditionFailed, InvalidId) as exc:
                    self._docs = snapshot
                    raise BatchFailed(index, _STATUS[type(exc)]) from exc

    def query_due(self, field: str, until: str, limit: int) -> list[Document]:
        """Documents whose string ``field`` is <= ``until`` (like the Cosmos query; here smallest first)."""
        with self._lock:
            due = [d for d in self._docs.values() if isinstance(d.get(field), str) and d[field] <= until]
            return [copy.deepcopy(d) for d in sorted(due, key=lambda d: d[field])[:limit]]

    def all(self) -> list[Document]:
        """Every document (test inspection)."""
        with self._lock:
            return [copy.deepcopy(d) for d in self._docs.values()]

    def _apply(self, operation: BatchOperation, partition_key: str) -> None:
        if operation.op == "delete":
            self.delete(operation.item_id, partition_key)
        elif operation.op == "create":
            self.create(operation.document or {})
        elif operation.op == "upsert":
            self.upsert(operation.document or {})
        else:
            self.replace(operation.document or {}, operation.if_match)

    def _key(self, document: Document) -> tuple[str, str]:
        return (str(document[self._path]), str(document["id"]))

    def _store(self, document: Document) -> Document:
        _check_id(str(document["id"]))
        stored = {k: v for k, v in copy.deepcopy(document).items() if not k.startswith("_")}
        stored["_etag"] = f'"{next(self._etags):08x}"'
        self._docs[self._key(stored)] = stored
        return copy.deepcopy(stored)


_STATUS = {Conflict: 409, NotFound: 404, PreconditionFailed: 412, InvalidId: 400}
_FORBIDDEN_ID = re.compile(r"[/\\?#\x00-\x1f\x7f]")  # what Cosmos DB (and its SDK) refuse in an id


def _check_id(item_id: str) -> None:
    if not item_id or _FORBIDDEN_ID.search(item_id) or item_id.endswith(" "):
        raise InvalidId(f"invalid document id {item_id!r}")


# resources/Config.json: DuplicateDetectionHistoryTimeWindow PT10M on `deliveries` and `delivery-inbox`.
DUPLICATE_DETECTION_WINDOW = timedelta(minutes=10)


class InMemoryBus:
    """Service Bus sends with the broker's duplicate detection: a MessageId the entity accepted within the
    duplicate-detection window is accepted and dropped; after the window it is a new message again.

    ``sent`` is everything handlers handed to ``send`` (what they did); ``accepted`` is what the broker kept.
    Scheduled messages get sequence numbers; ``cancelled`` lists those cancelled while still scheduled (whoever
    delivers ``accepted`` skips them)."""

    def __init__(self, clock: Clock | None = None, duplicate_window: timedelta = DUPLICATE_DETECTION_WINDOW) -> None:
        self.accepted: list[Outgoing] = []
        self.sent: list[Outgoing] = []
        self.send_calls = 0
        self.fail_next: Exception | None = None
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._window = duplicate_window
        self._seen: dict[tuple[str, str], datetime] = {}
        self._numbers = itertools.count(1)
        self._scheduled: dict[tuple[str, int], Outgoing] = {}   # (entity, sequence number) -> still scheduled
        self._scheduled_as: dict[tuple[str, str], int] = {}     # (entity, MessageId) -> its sequence number
        self.cancelled: list[Outgoing] = []
        self._lock = threading.Lock()

    def send(self, messages: Sequence[Outgoing]) -> dict[str, int]:
        """Accept each message; drop (silently, like the broker) one whose MessageId the entity saw within the
        window. Scheduled messages' sequence numbers by MessageId (a dropped duplicate: the first one's)."""
        with self._lock:
            self.send_calls += 1
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            now = self._clock()
            numbers: dict[str, int] = {}
            for message in messages:
                self.sent.append(message)
                key = (message.entity, message.message_id)
                first_seen = self._seen.get(key)
                if first_seen is None or now - first_seen >= self._window:
                    self._seen[key] = now
                    self.accepted.append(message)
                    if message.scheduled_at is not None:
                        self._scheduled_as[key] = next(self._numbers)
                        self._scheduled[(message.entity, self._scheduled_as[key])] = message
                if message.scheduled_at is not None and key in self._scheduled_as:
                    numbers[message.message_id] = self._scheduled_as[key]
            return numbers

    def cancel_scheduled(self, entity: str, sequence_numbers: Sequence[int]) -> None:
        """Cancel what is still scheduled (not yet due); other numbers are skipped."""
        with self._lock:
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            now = self._clock()
            for number in sequence_numbers:
                message = self._scheduled.pop((entity, number), None)
                if message is not None and message.scheduled_at is not None and message.scheduled_at > now:
                    self.cancelled.append(message)

    def sent_to(self, entity: str) -> list[Outgoing]:
        """Everything handed to ``send`` for one entity, duplicates included, in send order."""
        return [m for m in self.sent if m.entity == entity]

    def to(self, entity: str) -> list[Outgoing]:
        """Accepted messages for one entity, in send order."""
        return [m for m in self.accepted if m.entity == entity]

    def types_to(self, entity: str) -> list[str]:
        """Subjects of the accepted messages for one entity."""
        return [m.subject for m in self.to(entity)]


class InMemoryEventPublisher:
    """Event Grid topic: records every published event (subscribers dedupe by id, not the topic)."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.fail_next: Exception | None = None

    def publish(self, events: Sequence[Event]) -> None:
        """Record the events (or raise the injected failure once)."""
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.published.extend(events)


class RecordingSleep:
    """A sleep that returns at once and remembers how long it was asked to wait (back-off in unit tests)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)
