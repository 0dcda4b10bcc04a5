"""Notifications' documents (container `notifications`, docs/design.md "Data")."""
from __future__ import annotations

from contracts.events import DeliveryState
from contracts.model import Contract, UtcDateTime
from contracts.reasons import ReasonCode


class NotificationDocument(Contract):
    """One notification per delivery event (container `notifications`, id = Event Grid event id)."""

    id: str
    delivery_id: str
    owner_id: str
    event_type: str
    state: DeliveryState
    reason: ReasonCode | None = None
    text: str
    trace_id: str | None = None
    recorded_at: UtcDateTime
