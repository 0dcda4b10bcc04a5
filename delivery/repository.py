"""Delivery's repository over the DocumentContainer port (the same code on Cosmos DB and in memory)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from contracts.model import wire_time
from core.ports import DocumentContainer, PreconditionFailed
from delivery.documents import DeliveryDocument

Loaded = tuple[DeliveryDocument, str]


class DeliveryRepository:
    """Delivery's documents (container `deliveries`, partition key `/id`).

    It remembers the last document this process saved for each delivery still in flight (newest ``capacity``), so
    the delivery's next session visit can skip the read (``remembered``). A remembered copy is only as good as
    the ETag it carries: someone else's save since then (the relay, another host instance that held the session)
    makes our next save fail with PreconditionFailed, which forgets the copy; the caller reads and decides again
    (docs/app.md "Commit, then announce")."""

    def __init__(self, container: DocumentContainer, capacity: int = 1024) -> None:
        self._container = container
        self._capacity = capacity
        self._saved: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, delivery_id: str) -> Loaded | None:
        """The document and its ETag as stored, or None."""
        raw = self._container.read(delivery_id, delivery_id)
        return (DeliveryDocument.model_validate(raw), raw["_etag"]) if raw else None

    def remembered(self, delivery_id: str) -> Loaded | None:
        """The document and ETag of this process's last save of a delivery in flight, or None (then read it)."""
        with self._lock:
            return self._saved.get(delivery_id)

    def save(self, document: DeliveryDocument, etag: str | None) -> str:
        """Create (etag None; Conflict if it exists) or replace only if unchanged since read (PreconditionFailed);
        returns the new ETag."""
        body = document.to_json_dict()
        try:
            saved = (self._container.create(body) if etag is None
                     else self._container.replace(body, if_match=etag))
        except PreconditionFailed:
            self.forget(document.id)
            raise
        new_etag = str(saved["_etag"])
        self._remember(document, new_etag)
        return new_etag

    def forget(self, delivery_id: str) -> None:
        """Drop what this process remembers of the delivery."""
        with self._lock:
            self._saved.pop(delivery_id, None)

    def with_owed_effects(self, now: datetime, limit: int) -> list[Loaded]:
        """Documents whose outbox is due for another attempt (the relay's work list)."""
        return [(DeliveryDocument.model_validate(raw), raw["_etag"])
                for raw in self._container.query_due("outboxDueAt", wire_time(now), limit)]

    def _remember(self, document: DeliveryDocument, etag: str) -> None:
        with self._lock:
            self._saved.pop(document.id, None)
            if document.state is None or document.state.is_terminal:
                return  # an ended delivery sees at most a late message or a stale timer: those read
            self._saved[document.id] = (document, etag)
            while len(self._saved) > self._capacity:
                self._saved.popitem(last=False)
