"""Delivery's repository over the DocumentContainer port (the same code on Cosmos DB and in memory)."""
from __future__ import annotations

from datetime import datetime

from contracts.model import wire_time
from core.ports import DocumentContainer
from delivery.documents import DeliveryDocument


class DeliveryRepository:
    """Delivery's documents (container `deliveries`, partition key `/id`)."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def get(self, delivery_id: str) -> tuple[DeliveryDocument, str] | None:
        """The document and its ETag, or None."""
        raw = self._container.read(delivery_id, delivery_id)
        return (DeliveryDocument.model_validate(raw), raw["_etag"]) if raw else None

    def save(self, document: DeliveryDocument, etag: str | None) -> str:
        """Create (etag None; Conflict if it exists) or replace only if unchanged since read (PreconditionFailed);
        returns the new ETag."""
        body = document.to_json_dict()
        if etag is None:
            return str(self._container.create(body)["_etag"])
        return str(self._container.replace(body, if_match=etag)["_etag"])

    def with_owed_effects(self, now: datetime, limit: int) -> list[tuple[DeliveryDocument, str]]:
        """Documents whose outbox is due for another attempt (the relay's work list)."""
        return [(DeliveryDocument.model_validate(raw), raw["_etag"])
                for raw in self._container.query_due("outboxDueAt", wire_time(now), limit)]
