"""Package's repository over the DocumentContainer port (the same code on Cosmos DB and in memory)."""
from __future__ import annotations

from datetime import datetime

from core.documents import EndedMarker, ended_id
from core.ports import DocumentContainer
from package.documents import PackageDocument


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
        raw = self._container.read(ended_id(delivery_id), ended_id(delivery_id))
        return EndedMarker.model_validate(raw).outcome if raw else None

    def mark_ended(self, delivery_id: str, outcome: str, now: datetime) -> None:
        """Remember that the delivery ended (idempotent)."""
        marker = EndedMarker(id=ended_id(delivery_id), delivery_id=delivery_id, outcome=outcome, recorded_at=now)
        self._container.upsert(marker.to_json_dict())
