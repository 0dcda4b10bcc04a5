"""Every Service Bus message of the saga; ``messageType`` is also the message's subject (docs/design.md)."""
from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, ClassVar, Final, Literal

from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, model_validator

from contracts.events import DeliveryState
from contracts.model import Contract, Identifier, UtcDateTime
from contracts.names import DRONE_SCHEDULER_SUBSCRIPTION, PACKAGE_SUBSCRIPTION
from contracts.reasons import ReasonCode

SCHEMA_VERSION: Final = 1


class PackageSize(StrEnum):
    """Package sizes, ordered: a drone of a size class carries that size and smaller."""

    SMALL = "Small"
    MEDIUM = "Medium"
    LARGE = "Large"

    @property
    def rank(self) -> int:
        """0 for Small, 1 for Medium, 2 for Large."""
        return list(PackageSize).index(self)


class ConfirmationRequired(StrEnum):
    """How the recipient confirms the hand-over (Fabrikam drone-delivery reference)."""

    NONE = "None"
    FINGERPRINT = "FingerPrint"
    PICTURE = "Picture"
    VOICE = "Voice"


class Location(Contract):
    """A WGS-84 point."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class PackageInfo(Contract):
    """What is carried. Weight limits are the Package service's own rule, not a contract rule."""

    package_id: Identifier
    size: PackageSize
    weight: float = Field(allow_inf_nan=False)
    tag: str | None = Field(default=None, max_length=256)


WIRE = "wire"  # validation context key: the input came off the bus, so the envelope must be complete


class Message(Contract):
    """Fields every message carries."""

    if TYPE_CHECKING:  # each concrete message declares it as a Literal (the union's discriminator)
        message_type: str

    delivery_id: Identifier
    # The default only serves construction in code; on the wire `schemaVersion` is required (docs/design.md "Rules").
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: UtcDateTime

    @model_validator(mode="before")
    @classmethod
    def _envelope_is_complete_on_the_wire(cls, data: object, info: ValidationInfo) -> object:
        if info.context and info.context.get(WIRE) and isinstance(data, dict) and "schemaVersion" not in data \
                and "schema_version" not in data:
            raise ValueError("schemaVersion is required")
        return data


class DeliveryRequested(Message):
    """Ingestion accepted a delivery request (topic `deliveries`)."""

    message_type: Literal["DeliveryRequested"] = "DeliveryRequested"
    owner_id: str = Field(min_length=1, max_length=128)
    pickup_location: Location
    dropoff_location: Location
    deadline: str | None = Field(default=None, max_length=64)
    expedited: bool = False
    confirmation_required: ConfirmationRequired = ConfirmationRequired.NONE
    package_info: PackageInfo


class PackageReady(Message):
    """Package accepted and stored the package."""

    message_type: Literal["PackageReady"] = "PackageReady"
    package_id: Identifier


class PackageRejected(Message):
    """Package refused the package (its own limits)."""

    message_type: Literal["PackageRejected"] = "PackageRejected"
    package_id: Identifier
    reason: Literal[ReasonCode.PACKAGE_REJECTED] = ReasonCode.PACKAGE_REJECTED
    detail: str


class DroneScheduled(Message):
    """Drone Scheduler reserved a drone; flight legs are in (already time-scaled) seconds."""

    message_type: Literal["DroneScheduled"] = "DroneScheduled"
    drone_id: str
    seconds_to_pickup: float = Field(ge=0)
    seconds_to_dropoff: float = Field(ge=0)


class DroneSchedulingFailed(Message):
    """Drone Scheduler found no suitable drone."""

    message_type: Literal["DroneSchedulingFailed"] = "DroneSchedulingFailed"
    reason: Literal[ReasonCode.NO_DRONE_AVAILABLE] = ReasonCode.NO_DRONE_AVAILABLE
    detail: str


class Step(StrEnum):
    """The steps whose requests can be dead-lettered by the broker (their subscription names)."""

    PACKAGE = PACKAGE_SUBSCRIPTION
    DRONE_SCHEDULER = DRONE_SCHEDULER_SUBSCRIPTION


class StepFailed(Message):
    """Remediation: the broker gave up on a step's DeliveryRequested (max delivery count or TTL)."""

    message_type: Literal["StepFailed"] = "StepFailed"
    step: Step
    dead_letter_reason: str
    detail: str | None = None


class ReadinessDeadline(Message):
    """Delivery's own scheduled timer: both reports should be in by now."""

    message_type: Literal["ReadinessDeadline"] = "ReadinessDeadline"
    # The state instance that set the timer (docs/app.md "Timers"): a timer whose token the delivery no
    # longer holds is stale and has no effect. Optional on the wire: schemaVersion 1 messages lack it.
    token: str | None = Field(default=None, max_length=64)


class FlightStage(StrEnum):
    """Simulated flight milestones."""

    PICKED_UP = "PickedUp"
    DELIVERED = "Delivered"


class FlightProgress(Message):
    """Delivery's own scheduled flight simulation step."""

    message_type: Literal["FlightProgress"] = "FlightProgress"
    stage: FlightStage
    token: str | None = Field(default=None, max_length=64)  # as on ReadinessDeadline


class CancelDelivery(Message):
    """Ingestion: the client asked to cancel."""

    message_type: Literal["CancelDelivery"] = "CancelDelivery"


class DeliveryOutcome(Message):
    """Base of the terminal events Delivery publishes to the topic (and, as data, to Event Grid); ``state`` is the
    terminal state each one announces."""

    state: ClassVar[DeliveryState]
    owner_id: str
    package_id: str
    drone_id: str | None = None
    reason: ReasonCode | None = None


class DeliveryShipped(DeliveryOutcome):
    """The package was delivered: Package closes it, Drone Scheduler releases the drone."""

    message_type: Literal["DeliveryShipped"] = "DeliveryShipped"
    state: ClassVar[DeliveryState] = DeliveryState.SHIPPED


class DeliveryFailed(DeliveryOutcome):
    """The delivery failed: Package cancels the package, Drone Scheduler releases the drone."""

    message_type: Literal["DeliveryFailed"] = "DeliveryFailed"
    state: ClassVar[DeliveryState] = DeliveryState.FAILED


class DeliveryCancelled(DeliveryOutcome):
    """The client cancelled in time: compensate like a failure."""

    message_type: Literal["DeliveryCancelled"] = "DeliveryCancelled"
    state: ClassVar[DeliveryState] = DeliveryState.CANCELLED


AnyMessage = Annotated[
    DeliveryRequested | PackageReady | PackageRejected | DroneScheduled | DroneSchedulingFailed | StepFailed
    | ReadinessDeadline | FlightProgress | CancelDelivery | DeliveryShipped | DeliveryFailed | DeliveryCancelled,
    Field(discriminator="message_type"),
]
TerminalEvent = DeliveryShipped | DeliveryFailed | DeliveryCancelled

_ADAPTER: TypeAdapter[AnyMessage] = TypeAdapter[AnyMessage](AnyMessage)


class InvalidMessage(ValueError):
    """A message body that is not one of the contracts (dead-lettered at once with InvalidMessage)."""


def parse_message(body: bytes | str, subject: str | None) -> AnyMessage:
    """Validate a received message: a complete envelope, and a subject equal to ``messageType``
    (docs/design.md "Rules")."""
    try:
        message = _ADAPTER.validate_json(body, context={WIRE: True})
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc)) from exc
    if not subject:
        raise InvalidMessage(f"the message has no subject (it must be the messageType, {message.message_type!r})")
    if subject != message.message_type:
        raise InvalidMessage(f"subject {subject!r} does not match messageType {message.message_type!r}")
    return message


def _describe(exc: ValidationError) -> str:
    # One line per bad field keeps the dead-letter description readable for an operator.
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()]
    return "; ".join(parts)[:1024]
