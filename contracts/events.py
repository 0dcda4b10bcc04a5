"""What Delivery announces on Event Grid, and the states it names (docs/design.md "Delivery state machine")."""
from __future__ import annotations

from enum import StrEnum

from contracts.model import Contract, UtcDateTime
from contracts.reasons import ReasonCode


class DeliveryState(StrEnum):
    """The Delivery state machine's states (docs/design.md "Delivery state machine")."""

    REQUESTED = "Requested"
    AWAITING_READINESS = "AwaitingReadiness"
    SCHEDULED = "Scheduled"
    IN_TRANSIT = "InTransit"
    SHIPPED = "Shipped"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_terminal(self) -> bool:
        """Shipped, Failed and Cancelled end the delivery."""
        return self in (DeliveryState.SHIPPED, DeliveryState.FAILED, DeliveryState.CANCELLED)


class DeliveryEventData(Contract):
    """The `data` of the Event Grid events Delivery publishes."""

    delivery_id: str
    owner_id: str
    state: DeliveryState
    reason: ReasonCode | None = None
    package_id: str
    drone_id: str | None = None
    traceparent: str | None = None
    occurred_at: UtcDateTime
