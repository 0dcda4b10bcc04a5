"""Typed repositories over the DocumentContainer port: the same code runs on Cosmos DB and in memory."""
from __future__ import annotations

from datetime import datetime

from adapters.ports import Conflict, DocumentContainer
from contracts.documents import (
    DeadLetterRecord, DeliveryDocument, EndedMarker, IngestionRecord, PackageDocument,
)


class DeliveryRepository:
    """Delivery's documents (container `deliveries`, partition key `/id`)."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def get(self, delivery_id: str) -> tuple[DeliveryDocument, str] | None:
        """The document and its ETag, or None."""
        raw = self._container.read(delivery_id, delivery_id)
        return (DeliveryDocument.model_validate(raw), raw["_etag"]) if raw else None

    def save(self, document: DeliveryDocument, etag: str | None) -> None:
        """Create (etag None; Conflict if it exists) or replace only if unchanged since read (PreconditionFailed)."""
        body = document.to_json_dict()
        if etag is None:
            self._container.create(body)
        else:
            self._container.replace(body, if_match=etag)


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
        """Remember that DeliveryRequested went out, so a repeated POST does not publish again."""
        self._container.upsert(record.model_copy(update={"published": True}).to_json_dict())


class PackageRepository:
    """Package's documents (container `packages`, partition key `/id`): packages and ended markers."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def get(self, package_id: str) -> PackageDocument | None:
        """The package, or None."""
        raw = self._container.read(package_id, package_id)
        return PackageDocument.model_validate(raw) if raw else None

    def upsert(self, package: PackageDocument) -> None:
        """Create or replace the package (idempotent)."""
        self._container.upsert(package.to_json_dict())

    def is_ended(self, delivery_id: str) -> bool:
        """True once a terminal event for the delivery was handled."""
        return self._container.read(_ended_id(delivery_id), _ended_id(delivery_id)) is not None

    def mark_ended(self, delivery_id: str, outcome: str, now: datetime) -> None:
        """Remember that the delivery ended (idempotent)."""
        marker = EndedMarker(id=_ended_id(delivery_id), delivery_id=delivery_id, outcome=outcome, recorded_at=now)
        self._container.upsert(marker.to_json_dict())


class DeadLetterRepository:
    """Remediation's records (container `deadletters`, partition key `/id`)."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def record(self, record: DeadLetterRecord) -> None:
        """Upsert by the dead-letter key, so recording the same dead letter twice keeps one record."""
        self._container.upsert(record.to_json_dict())

    def get(self, record_id: str) -> DeadLetterRecord | None:
        """A record, or None."""
        raw = self._container.read(record_id, record_id)
        return DeadLetterRecord.model_validate(raw) if raw else None


def _ended_id(delivery_id: str) -> str:
    return f"ended:{delivery_id}"
