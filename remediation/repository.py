"""Remediation's repository over the DocumentContainer port (the same code on Cosmos DB and in memory)."""
from __future__ import annotations

from core.ports import DocumentContainer
from remediation.documents import DeadLetterRecord


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
