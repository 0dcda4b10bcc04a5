"""Ingestion's documents (container `requests`, docs/design.md "Data")."""
from __future__ import annotations

from contracts.messages import DeliveryRequested
from contracts.model import Contract, UtcDateTime


class IngestionRecord(Contract):
    """Ingestion's first-wins record of an accepted request (container `requests`, id = deliveryId)."""

    id: str
    request: DeliveryRequested
    traceparent: str
    accepted_at: UtcDateTime
    published: bool = False
    # Until DeliveryRequested went out: when the relay may publish it (docs/app.md "Commit, then announce").
    publish_due_at: UtcDateTime | None = None
