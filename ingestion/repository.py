"""Ingestion's repository over the DocumentContainer port (the same code on Cosmos DB and in memory)."""
from __future__ import annotations

from datetime import datetime

from contracts.model import wire_time
from core.ports import Conflict, DocumentContainer
from ingestion.documents import IngestionRecord


class IngestionRepository:
    """Ingestion's first-wins request records (container `requests`, partition key `/id`)."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def add_first(self, record: IngestionRecord) -> IngestionRecord:
        """Store the record unless one exists for that deliveryId; return the one that won."""
        try:
            self._container.create(record.to_json_dict())
            return record
        except Conflict:
            existing = self.get(record.id)
            if existing is None:  # deleted between the two calls: try once more
                self._container.create(record.to_json_dict())
                return record
            return existing

    def get(self, delivery_id: str) -> IngestionRecord | None:
        """The record, or None."""
        raw = self._container.read(delivery_id, delivery_id)
        return IngestionRecord.model_validate(raw) if raw else None

    def mark_published(self, record: IngestionRecord) -> None:
        """Remember that DeliveryRequested went out, so a repeated POST (or the relay) does not publish again."""
        self._container.upsert(record.model_copy(update={"published": True, "publish_due_at": None}).to_json_dict())

    def unpublished(self, now: datetime, limit: int) -> list[IngestionRecord]:
        """Accepted requests whose DeliveryRequested is due to be published again (the relay's work list)."""
        return [IngestionRecord.model_validate(raw)
                for raw in self._container.query_due("publishDueAt", wire_time(now), limit)]

    def retry_publish_later(self, record: IngestionRecord, due_at: datetime) -> None:
        """Push the relay's next attempt back (after a failed publish)."""
        self._container.upsert(record.model_copy(update={"publish_due_at": due_at}).to_json_dict())
