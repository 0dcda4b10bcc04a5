"""Drone Scheduler's documents (container `drones`, partition key `/fleetId`): drones, reservations and
ended markers share the fleet's partition so one transactional batch can touch a drone and a reservation."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from datetime import datetime

from core.documents import EndedMarker, ended_id
from core.ports import BatchOperation, Conflict, DocumentContainer, NotFound
from drone_scheduler.documents import DroneDocument, DroneStatus, ReservationDocument, ReservationStatus, WaitingRequest

RESERVATION_EXISTS = 0   # index of the reservation create in the reserve batch (409: already ours, or released)
DRONE_CHANGED = 1        # index of the drone replace (412: someone else took it first)
WAITING_GONE = 2         # index of the waiting entry's delete when a waiting request is served (404: served already)
CONFLICT, PRECONDITION_FAILED, NOT_FOUND = 409, 412, 404


def reservation_id(delivery_id: str) -> str:
    """`reservation:{deliveryId}` (docs/design.md "Ordering races")."""
    return f"reservation:{delivery_id}"


def waiting_id(delivery_id: str) -> str:
    """`waiting:{deliveryId}`: the delivery's place on the waiting list."""
    return f"waiting:{delivery_id}"


class DroneRepository:
    """Drones of one fleet, their reservations and ended-delivery markers."""

    def __init__(self, container: DocumentContainer, fleet_id: str) -> None:
        self._container = container
        self.fleet_id = fleet_id
        self._seeded = False
        self._seeding = threading.Lock()

    def seed_once(self, drones: Iterable[DroneDocument]) -> int:
        """Create the drones that do not exist yet (idempotent; once per process); returns how many were created.

        One thread seeds while the others wait for it: the host's first invocations arrive together, and each
        would otherwise send a create per drone (e.g. 16 threads × 64 drones, all but 64 of them 409s)."""
        if self._seeded:
            return 0
        with self._seeding:
            if self._seeded:
                return 0
            created = 0
            for drone in drones:
                try:
                    self._container.create(drone.to_json_dict())
                    created += 1
                except Conflict:
                    pass  # seeded by an earlier process or instance: keep its current state
            self._seeded = True
            return created

    def fleet(self) -> list[tuple[DroneDocument, str]]:
        """Every drone of the fleet with its ETag, whatever its status."""
        return [(DroneDocument.model_validate(d), d["_etag"])
                for d in self._container.query_kind(self.fleet_id, "drone")]

    def available(self) -> list[tuple[DroneDocument, str]]:
        """Available drones with their ETags."""
        return [(d, etag) for d, etag in self.fleet() if d.status is DroneStatus.AVAILABLE]

    def wait(self, waiting: WaitingRequest) -> bool:
        """Put a request on the waiting list (create-if-absent); False if it was waiting already."""
        try:
            self._container.create(waiting.to_json_dict())
            return True
        except Conflict:
            return False

    def waiting(self) -> list[WaitingRequest]:
        """The waiting list, oldest first."""
        entries = [WaitingRequest.model_validate(d) for d in self._container.query_kind(self.fleet_id, "waiting")]
        return sorted(entries, key=lambda w: (w.created_at, w.id))

    def drop_waiting(self, delivery_id: str) -> None:
        """Take a request off the waiting list (idempotent)."""
        with contextlib.suppress(NotFound):
            self._container.delete(waiting_id(delivery_id), self.fleet_id)

    def drone(self, drone_id: str) -> tuple[DroneDocument, str] | None:
        """A drone with its ETag, or None."""
        raw = self._container.read(drone_id, self.fleet_id)
        return (DroneDocument.model_validate(raw), raw["_etag"]) if raw else None

    def reservation(self, delivery_id: str) -> ReservationDocument | None:
        """The delivery's reservation, or None."""
        found = self.reservation_with_etag(delivery_id)
        return found[0] if found else None

    def reservation_with_etag(self, delivery_id: str) -> tuple[ReservationDocument, str] | None:
        """The delivery's reservation and its ETag, or None."""
        raw = self._container.read(reservation_id(delivery_id), self.fleet_id)
        return (ReservationDocument.model_validate(raw), raw["_etag"]) if raw else None

    def reserve(self, reservation: ReservationDocument, drone: DroneDocument, etag: str, *,
                served: bool = False) -> None:
        """Atomically create the reservation and mark the drone reserved if it is unchanged since read (and, for a
        ``served`` waiting request, take it off the waiting list in the same batch).
        Raises BatchFailed: index RESERVATION_EXISTS (409), DRONE_CHANGED (412) or WAITING_GONE (404)."""
        reserved = drone.model_copy(update={"status": DroneStatus.RESERVED, "reserved_for": reservation.delivery_id})
        operations = [
            BatchOperation("create", reservation.id, reservation.to_json_dict()),
            BatchOperation("replace", drone.id, reserved.to_json_dict(), if_match=etag),
        ]
        if served:
            operations.append(BatchOperation("delete", waiting_id(reservation.delivery_id)))
        self._container.execute_batch(operations, self.fleet_id)

    def release(self, reservation: ReservationDocument, reservation_etag: str, drone: DroneDocument | None,
                etag: str | None, now: datetime) -> None:
        """Atomically turn the reservation into a ``Released`` tombstone and, if the drone is still held for
        this delivery (docs/design.md: release reverses it only for the same deliveryId), make the drone available.
        Both replaces are ETag-conditional: a concurrent release of the same delivery (a re-published outcome
        handled at the same time) must not rewrite the tombstone after the drone went to someone else.
        Raises BatchFailed (412 when either changed since read: a transient retry, which finds it released)."""
        released = reservation.model_copy(update={"status": ReservationStatus.RELEASED, "released_at": now})
        operations = [BatchOperation("replace", reservation.id, released.to_json_dict(), if_match=reservation_etag)]
        if drone is not None and drone.reserved_for == reservation.delivery_id:
            freed = drone.model_copy(update={"status": DroneStatus.AVAILABLE, "reserved_for": None})
            operations.append(BatchOperation("replace", drone.id, freed.to_json_dict(), if_match=etag))
        self._container.execute_batch(operations, self.fleet_id)

    def tombstone(self, delivery_id: str, now: datetime) -> bool:
        """Create a ``Released`` reservation holding no drone, so a request that a compensation overtook cannot
        reserve later; False if a reservation already exists (then release that one)."""
        tombstone = ReservationDocument(id=reservation_id(delivery_id), fleet_id=self.fleet_id, delivery_id=delivery_id,
                                        drone_id=None, seconds_to_pickup=0, seconds_to_dropoff=0, created_at=now,
                                        status=ReservationStatus.RELEASED, released_at=now)
        try:
            self._container.create(tombstone.to_json_dict())
            return True
        except Conflict:
            return False

    def is_ended(self, delivery_id: str) -> bool:
        """True once a terminal event for the delivery was handled here."""
        return self._container.read(ended_id(delivery_id), self.fleet_id) is not None

    def mark_ended(self, delivery_id: str, outcome: str, now: datetime) -> None:
        """Remember that the delivery ended (idempotent)."""
        marker = EndedMarker(id=ended_id(delivery_id), delivery_id=delivery_id, outcome=outcome,
                             fleet_id=self.fleet_id, recorded_at=now)
        self._container.upsert(marker.to_json_dict())
