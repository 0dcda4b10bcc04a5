"""Cosmos DB documents, one model per kind; each service owns its container (docs/design.md "Data")."""
from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from contracts.messages import DeliveryRequested, Location, PackageSize
from contracts.model import Contract, UtcDateTime
from contracts.reasons import ReasonCode


class IngestionRecord(Contract):
    """Ingestion's first-wins record of an accepted request (container `requests`, id = deliveryId)."""

    id: str
    request: DeliveryRequested
    traceparent: str
    accepted_at: UtcDateTime
    published: bool = False
    # Until DeliveryRequested went out: when the relay may publish it (docs/app.md "Commit, then announce").
    publish_due_at: UtcDateTime | None = None


class PackageStatus(StrEnum):
    """A package's lifecycle in the Package service."""

    READY = "Ready"
    CLOSED = "Closed"
    CANCELLED = "Cancelled"


class PackageDocument(Contract):
    """A package (container `packages`, id = packageId)."""

    id: str
    kind: Literal["package"] = "package"
    delivery_id: str
    size: PackageSize
    weight: float
    tag: str | None = None
    status: PackageStatus
    updated_at: UtcDateTime


class EndedMarker(Contract):
    """'This delivery ended': lets a step refuse a request that a compensation overtook."""

    id: str
    kind: Literal["ended"] = "ended"
    delivery_id: str
    outcome: str
    fleet_id: str | None = None
    recorded_at: UtcDateTime


class DroneStatus(StrEnum):
    """Whether a drone can be reserved."""

    AVAILABLE = "Available"
    RESERVED = "Reserved"


class DroneDocument(Contract):
    """A drone of the fleet (container `drones`, partition key `/fleetId`)."""

    id: str
    kind: Literal["drone"] = "drone"
    fleet_id: str
    size_class: PackageSize
    max_payload_kg: float
    location: Location
    status: DroneStatus = DroneStatus.AVAILABLE
    reserved_for: str | None = None


class ReservationStatus(StrEnum):
    """A reservation holds its drone until the delivery ends; then it stays behind as a tombstone."""

    HELD = "Held"
    RELEASED = "Released"


class ReservationDocument(Contract):
    """`reservation:{deliveryId}`: created in the same transactional batch that marks the drone reserved.

    Released reservations are kept (status ``Released``), never deleted: a redelivered request that raced the
    compensation then hits 409 on its create, finds the tombstone and refuses instead of reserving again.
    A compensation that finds no reservation creates the tombstone itself (``drone_id`` None)."""

    id: str
    kind: Literal["reservation"] = "reservation"
    fleet_id: str
    delivery_id: str
    drone_id: str | None
    seconds_to_pickup: float
    seconds_to_dropoff: float
    created_at: UtcDateTime
    status: ReservationStatus = ReservationStatus.HELD
    released_at: UtcDateTime | None = None

    @property
    def is_released(self) -> bool:
        """True once the delivery ended here: the drone is no longer held for it."""
        return self.status is ReservationStatus.RELEASED


class WaitingRequest(Contract):
    """`waiting:{deliveryId}`: a request that found every suitable drone busy. A busy fleet is back-pressure, not
    failure: the request is served when a drone is released, or given up at ``give_up_at`` (NoDroneAvailable)."""

    id: str
    kind: Literal["waiting"] = "waiting"
    fleet_id: str
    delivery_id: str
    request: DeliveryRequested
    traceparent: str | None = None
    created_at: UtcDateTime
    give_up_at: UtcDateTime


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


class StepReport(Contract):
    """The first report a step (package or drone) sent; later ones do not replace it."""

    message_type: str
    reason: ReasonCode | None = None
    detail: str | None = None


class HistoryEntry(Contract):
    """One message the delivery saw: what, when, in which trace, and what it did."""

    message_type: str
    message_id: str | None = None
    at: UtcDateTime
    trace_id: str | None = None
    note: str


class DroneAssignment(Contract):
    """The drone a delivery flies with and its (time-scaled) legs."""

    drone_id: str
    seconds_to_pickup: float
    seconds_to_dropoff: float


class OutboxChannel(StrEnum):
    """Where an owed effect goes."""

    SERVICE_BUS = "ServiceBus"
    EVENT_GRID = "EventGrid"


class OutboxEntry(Contract):
    """One effect a saved state owes (docs/app.md "Commit, then announce"): saved with the state, sent after the
    save under its deterministic id, and removed from the document once the broker or topic accepted it."""

    id: str                                  # the MessageId (Service Bus) or event id (Event Grid)
    channel: OutboxChannel
    destination: str                         # the entity or topic
    message_type: str                        # subject / the message type the event is about
    body: dict[str, Any]                     # the message's wire form, or the event's data
    session_id: str | None = None
    scheduled_at: UtcDateTime | None = None  # a timer: enqueued at this time
    traceparent: str | None = None
    event_type: str | None = None
    subject: str | None = None
    data_version: str | None = None
    event_time: UtcDateTime | None = None
    attempts: int = 0                        # failed attempts so far
    next_attempt_at: UtcDateTime             # when the relay may try it (again)
    last_error: str | None = None


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
    outbox: list[OutboxEntry] = Field(default_factory=list)
    outbox_due_at: UtcDateTime | None = None                # earliest next_attempt_at in the outbox (the relay's index)


class DeadLetterAction(StrEnum):
    """What Remediation did with a dead letter (docs/design.md "Remediation decision table")."""

    STEP_FAILED_SENT = "StepFailedSent"
    RECORDED = "Recorded"
    OPERATOR_REQUIRED = "OperatorRequired"


class DeadLetterRecord(Contract):
    """Every dead letter, with enough of the message to inspect and redrive it (container `deadletters`)."""

    id: str
    entity: str
    message_id: str | None
    subject: str | None
    session_id: str | None
    delivery_id: str | None
    dead_letter_reason: str | None
    dead_letter_description: str | None
    reason_code: ReasonCode | None
    action: DeadLetterAction
    requires_operator: bool
    delivery_count: int | None
    sequence_number: int | None = None
    application_properties: dict[str, str]
    body: str
    trace_id: str | None
    recorded_at: UtcDateTime
    # Commit, then announce: the record is written before the StepFailed it owes is sent; this stays true
    # until the send succeeded, so a redelivered dead letter sends it (same MessageId) instead of skipping it.
    send_pending: bool = False


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
