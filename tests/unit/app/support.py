"""Test-side stand-ins for what the Functions host hands a trigger: a received message and message actions."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.memory import InMemoryContainer
from contracts.messages import (
    CancelDelivery,
    DeliveryRequested,
    DroneScheduled,
    DroneSchedulingFailed,
    FlightProgress,
    FlightStage,
    Location,
    Message,
    PackageInfo,
    PackageReady,
    PackageRejected,
    PackageSize,
    ReadinessDeadline,
    Step,
    StepFailed,
)
from contracts.names import message_id
from core.ports import Document
from core.settlement import Received
from core.tracing import new_traceparent

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeReceivedMessage:
    """Duck-types the azure-servicebus ``ServiceBusReceivedMessage`` fields the app reads (bytes keys, as the SDK)."""

    body: bytes
    message_id: str | None = None
    subject: str | None = None
    session_id: str | None = None
    delivery_count: int = 1
    sequence_number: int = 7
    application_properties: dict[bytes, bytes] = field(default_factory=dict)
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None


@dataclass
class FakeMessageActions:
    """Records settlement calls like ``ServiceBusMessageActions`` would make them."""

    calls: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)

    def complete(self, message: Any) -> None:
        self.calls.append(("complete", message, {}))

    def abandon(self, message: Any) -> None:
        self.calls.append(("abandon", message, {}))

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        self.calls.append(("deadletter", message, {"reason": deadletter_reason,
                                                   "description": deadletter_error_description}))

    def defer(self, message: Any) -> None:
        self.calls.append(("defer", message, {}))

    @property
    def verbs(self) -> list[str]:
        """Just the settlement verbs, in order."""
        return [c[0] for c in self.calls]


def sdk_message(message: Message, *, step: str | None = None, msg_id: str | None = None,
                traceparent: str | None = None, **extra: Any) -> FakeReceivedMessage:
    """A received message carrying ``message`` the way the app's own sender addresses it."""
    kind = str(message.message_type)
    step = step or _natural_step(message)
    props = {b"traceparent": (traceparent or new_traceparent()).encode()}
    return FakeReceivedMessage(
        body=json.dumps(message.to_json_dict()).encode(),
        message_id=msg_id or message_id(message.delivery_id, kind, step),
        subject=kind, session_id=message.delivery_id, application_properties=props, **extra,
    )


def received(message: Message, *, step: str | None = None, msg_id: str | None = None,
             traceparent: str | None = None) -> Received:
    """A ``Received`` carrying ``message``."""
    kind = str(message.message_type)
    step = step or _natural_step(message)
    return Received(body=json.dumps(message.to_json_dict()).encode(),
                    message_id=msg_id or message_id(message.delivery_id, kind, step), subject=kind,
                    session_id=message.delivery_id,
                    application_properties={"traceparent": traceparent or new_traceparent()})


def requested(delivery_id: str = "d1", *, weight: float = 2.0, size: PackageSize = PackageSize.SMALL,
              package_id: str | None = None, at: datetime = T0) -> DeliveryRequested:
    """A DeliveryRequested with sensible Seattle coordinates."""
    return DeliveryRequested(
        delivery_id=delivery_id, occurred_at=at, owner_id="owner-1",
        pickup_location=Location(latitude=47.61, longitude=-122.33),
        dropoff_location=Location(latitude=47.62, longitude=-122.35),
        package_info=PackageInfo(package_id=package_id or f"pkg-{delivery_id}", size=size, weight=weight),
    )


def package_ready(delivery_id: str = "d1") -> PackageReady:
    return PackageReady(delivery_id=delivery_id, occurred_at=T0, package_id=f"pkg-{delivery_id}")


def package_rejected(delivery_id: str = "d1") -> PackageRejected:
    return PackageRejected(delivery_id=delivery_id, occurred_at=T0, package_id=f"pkg-{delivery_id}", detail="too heavy")


def drone_scheduled(delivery_id: str = "d1", drone_id: str = "drone-001") -> DroneScheduled:
    return DroneScheduled(delivery_id=delivery_id, occurred_at=T0, drone_id=drone_id,
                          seconds_to_pickup=30, seconds_to_dropoff=60)


def drone_failed(delivery_id: str = "d1") -> DroneSchedulingFailed:
    return DroneSchedulingFailed(delivery_id=delivery_id, occurred_at=T0, detail="none left")


def step_failed(step: Step, delivery_id: str = "d1") -> StepFailed:
    return StepFailed(delivery_id=delivery_id, occurred_at=T0, step=step, dead_letter_reason="MaxDeliveryCountExceeded")


def deadline(delivery_id: str = "d1") -> ReadinessDeadline:
    return ReadinessDeadline(delivery_id=delivery_id, occurred_at=T0)


def flight(stage: FlightStage, delivery_id: str = "d1") -> FlightProgress:
    return FlightProgress(delivery_id=delivery_id, occurred_at=T0, stage=stage)


def cancel(delivery_id: str = "d1") -> CancelDelivery:
    return CancelDelivery(delivery_id=delivery_id, occurred_at=T0)


def _natural_step(message: Message) -> str | None:
    # The app suffixes MessageIds of types that legitimately repeat (docs/design.md "Idempotent").
    value = getattr(message, "step", None) or getattr(message, "stage", None)
    return str(value) if value is not None else None


@functools.cache
def app_functions() -> dict[str, Any]:
    """The app's indexed functions by name (get_functions() may run only once per app instance)."""
    from function_app import app
    return {f.get_function_name(): f for f in app.get_functions()}


def user_function(name: str) -> Any:
    """The Python callable behind a function, as the worker would invoke it."""
    return app_functions()[name].get_user_function()


class RacingContainer(InMemoryContainer):
    """Runs ``on_read[item_id]`` once, right after that document was read: the read's answer is already decided,
    so the hook lands exactly between a check and the write that relies on it (a deterministic race)."""

    def __init__(self, partition_key_path: str = "/id") -> None:
        super().__init__(partition_key_path)
        self.on_read: dict[str, Callable[[], object]] = {}

    def read(self, item_id: str, partition_key: str) -> Document | None:
        found = super().read(item_id, partition_key)
        hook = self.on_read.pop(item_id, None)
        if hook is not None:
            hook()
        return found


class ReadRecordingContainer(InMemoryContainer):
    """Remembers the id of every point read and every create, in order (what a handler costs in round trips)."""

    def __init__(self, partition_key_path: str = "/id") -> None:
        super().__init__(partition_key_path)
        self.reads: list[str] = []
        self.creates: list[str] = []

    def read(self, item_id: str, partition_key: str) -> Document | None:
        self.reads.append(item_id)
        return super().read(item_id, partition_key)

    def create(self, document: Document) -> Document:
        self.creates.append(document["id"])
        return super().create(document)


def post_delivery(payload: bytes | dict[str, Any], content_type: str = "application/json",
                  **headers: str) -> Any:
    """POST /api/deliveries through the app's own function (the HTTP trigger the host would call)."""
    import azure.functions as func

    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = func.HttpRequest("POST", "http://localhost/api/deliveries", body=raw,
                               headers={"content-type": content_type, **headers})
    return user_function("ingest_delivery")(request)
