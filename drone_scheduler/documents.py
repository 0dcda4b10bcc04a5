"""Drone Scheduler's documents (container `drones`, partition key `/fleetId`, docs/design.md "Data")."""
from __future__ import annotations

from enum import StrEnum
from typing import Literal

from contracts.messages import DeliveryRequested, Location, PackageSize
from contracts.model import Contract, UtcDateTime


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
