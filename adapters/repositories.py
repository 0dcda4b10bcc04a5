"""Typed repositories over the DocumentContainer port: the same code runs on Cosmos DB and in memory."""
from __future__ import annotations

from datetime import datetime

from adapters.ports import Conflict, DocumentContainer
from contracts.documents import (
    DeadLetterRecord,
    DeliveryDocument,
    EndedMarker,
    IngestionRecord,
    PackageDocument,
)
from contracts.model import wire_time


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


class PackageRepository:
    """Package's documents (container `packages`, partition key `/id`): packages and ended markers.

    Writes are create-if-absent or ETag-conditional, never blind: a compensation and a retried request
    racing on the same package cannot overwrite each other (the loser gets Conflict/PreconditionFailed)."""

    def __init__(self, container: DocumentContainer) -> None:
        self._container = container

    def get(self, package_id: str) -> PackageDocument | None:
        """The package, or None."""
        found = self.get_with_etag(package_id)
        return found[0] if found else None

    def get_with_etag(self, package_id: str) -> tuple[PackageDocument, str] | None:
        """The package and its ETag, or None."""
        raw = self._container.read(package_id, package_id)
        return (PackageDocument.model_validate(raw), raw["_etag"]) if raw else None

    def create(self, package: PackageDocument) -> str:
        """Store a new package; raises Conflict if one with that id exists. Returns the ETag."""
        return str(self._container.create(package.to_json_dict())["_etag"])

    def replace(self, package: PackageDocument, etag: str) -> str:
        """Replace the package only if unchanged since read (PreconditionFailed otherwise); returns the new ETag."""
        return str(self._container.replace(package.to_json_dict(), if_match=etag)["_etag"])

    def is_ended(self, delivery_id: str) -> bool:
        """True once a terminal event for the delivery was handled."""
        return self.ended_outcome(delivery_id) is not None

    def ended_outcome(self, delivery_id: str) -> str | None:
        """The terminal message type recorded for the delivery, or None while it has not ended here."""
        raw = self._container.read(_ended_id(delivery_id), _ended_id(delivery_id))
        return EndedMarker.model_validate(raw).outcome if raw else None

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
