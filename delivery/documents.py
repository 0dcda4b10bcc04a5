"""Delivery's documents (container `deliveries`, docs/design.md "Data")."""
from __future__ import annotations

from pydantic import Field

from contracts.api import DroneAssignment, HistoryEntry
from contracts.events import DeliveryState
from contracts.messages import DeliveryRequested
from contracts.model import Contract, UtcDateTime
from contracts.reasons import ReasonCode
from core.documents import OutboxEntry


class StepReport(Contract):
    """The first report a step (package or drone) sent; later ones do not replace it."""

    message_type: str
    reason: ReasonCode | None = None
    detail: str | None = None


class ScheduledTimer(Contract):
    """A timer the broker holds for the delivery: its sequence number while scheduled, and when it fires."""

    sequence_number: int
    due_at: UtcDateTime


class DeliveryDocument(Contract):
    """A delivery (container `deliveries`, id = deliveryId). ``state`` is None until DeliveryRequested arrives."""

    id: str
    state: DeliveryState | None = None
    reason: ReasonCode | None = None
    request: DeliveryRequested | None = None
    package_report: StepReport | None = None
    drone_report: StepReport | None = None
    drone: DroneAssignment | None = None
    cancel_requested: bool = False
    readiness_deadline_at: UtcDateTime | None = None
    eta: UtcDateTime | None = None
    trace_id: str | None = None
    applied_message_ids: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    updated_at: UtcDateTime | None = None
    timers: dict[str, str] = Field(default_factory=dict)   # timer name -> token of the state instance that set it
    # timer name -> what the broker gave it when scheduled, so a timer no longer needed can be cancelled
    scheduled_timers: dict[str, ScheduledTimer] = Field(default_factory=dict)
    outbox: list[OutboxEntry] = Field(default_factory=list)
    outbox_due_at: UtcDateTime | None = None                # earliest next_attempt_at in the outbox (the relay's index)
