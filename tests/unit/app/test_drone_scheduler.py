"""Drone Scheduler: idempotent seeding, nearest suitable drone, atomic reservation, release, refusal."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.memory import InMemoryBus, InMemoryContainer, ManualClock
from contracts.messages import DeliveryCancelled, DeliveryFailed, DeliveryShipped, Location, Message, PackageSize
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from core.ports import BatchFailed, BatchOperation, TransientFault
from core.settlement import Complete, DeadLetter, Outcome
from drone_scheduler.documents import DroneDocument, DroneStatus, ReservationDocument
from drone_scheduler.fleet import FleetConfig, seed_fleet, wait_for_a_drone
from drone_scheduler.handlers import handle_drone_message, serve_waiting
from drone_scheduler.repository import DroneRepository
from tests.unit.app.support import T0, RacingContainer, ReadRecordingContainer, package_ready, received, requested

BASE = Location(latitude=47.61, longitude=-122.33)


class DroneWorld:
    def __init__(self, size: int = 4, container: InMemoryContainer | None = None,
                 fault_step: str | None = None) -> None:
        self.container = container or InMemoryContainer("/fleetId")
        self.drones = DroneRepository(self.container, "fleet-1")
        self.bus = InMemoryBus()
        self.clock = ManualClock(T0)
        self.fleet = FleetConfig(size=size, base=BASE, speed_kmh=60.0, time_scale=0.01)
        self.fault_step = fault_step

    def handle(self, message: Message) -> Outcome:
        return handle_drone_message(message, received(message), self.drones, self.bus, self.clock, self.fleet,  # type: ignore[arg-type]
                                    self.fault_step)

    def drone_docs(self) -> dict[str, DroneDocument]:
        return {d["id"]: DroneDocument.model_validate(d) for d in self.container.all() if d["kind"] == "drone"}


def ended(kind: type, delivery_id: str = "d1") -> Message:
    return kind(delivery_id=delivery_id, occurred_at=T0, owner_id="owner-1", package_id=f"pkg-{delivery_id}")


def test_fleet_is_seeded_idempotently_across_processes() -> None:
    container = InMemoryContainer("/fleetId")
    first = DroneWorld(container=container)
    first.handle(requested("d1"))
    second = DroneWorld(container=container)
    second.handle(requested("d2"))
    drones = first.drone_docs()
    assert sorted(drones) == ["drone-001", "drone-002", "drone-003", "drone-004"]
    assert sum(d.status is DroneStatus.RESERVED for d in drones.values()) == 2, "re-seeding kept existing state"


def test_nearest_suitable_drone_is_reserved_with_flight_legs() -> None:
    world = DroneWorld()
    assert isinstance(world.handle(requested(size=PackageSize.MEDIUM, weight=10)), Complete)
    [report] = world.bus.to(DELIVERY_INBOX_QUEUE)
    assert (report.subject, report.session_id, report.message_id) == ("DroneScheduled", "d1", "d1:DroneScheduled")
    assert report.message.drone_id == "drone-002"  # type: ignore[attr-defined]  # the only Medium that carries 10 kg
    assert report.message.seconds_to_pickup > 0 and report.message.seconds_to_dropoff > 0  # type: ignore[attr-defined]
    assert world.drone_docs()["drone-002"].reserved_for == "d1"


def test_small_package_goes_to_the_nearest_drone() -> None:
    world = DroneWorld()
    world.handle(requested(size=PackageSize.SMALL, weight=1))
    assert world.bus.to(DELIVERY_INBOX_QUEUE)[0].message.drone_id == "drone-001"  # type: ignore[attr-defined]


def test_a_first_request_reserves_without_reading_its_reservation() -> None:
    container = ReadRecordingContainer("/fleetId")
    world = DroneWorld(container=container)
    assert isinstance(world.handle(requested()), Complete)
    assert container.reads == ["ended:d1"], "the reserve batch itself answers whether a reservation exists"


def test_the_fleet_is_seeded_once_when_the_first_requests_arrive_together() -> None:
    class SlowCreates(ReadRecordingContainer):
        def create(self, document: dict[str, Any]) -> dict[str, Any]:
            time.sleep(0.01)  # a round trip: the other threads arrive while the first one is seeding
            return super().create(document)

    container = SlowCreates("/fleetId")
    drones = DroneRepository(container, "fleet-1")
    start = threading.Barrier(8)

    def seed() -> None:
        start.wait()
        drones.seed_once(seed_fleet("fleet-1", 4, BASE))

    threads = [threading.Thread(target=seed) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert container.creates == ["drone-001", "drone-002", "drone-003", "drone-004"]


def test_a_redelivery_while_every_drone_is_flying_reports_its_own_reservation() -> None:
    world = DroneWorld(size=1)
    world.handle(requested("d1"))
    world.handle(requested("d1"))  # redelivered: no drone is free to try, and ours is found all the same
    sent = world.bus.sent_to(DELIVERY_INBOX_QUEUE)
    assert [m.message_id for m in sent] == ["d1:DroneScheduled"] * 2
    assert world.drones.waiting() == []


def test_redelivered_request_reuses_its_own_reservation() -> None:
    world = DroneWorld()
    world.handle(requested())
    world.clock.advance(3600)  # past the broker's duplicate-detection window: nothing may rely on it here
    world.handle(requested())
    reserved = [d for d in world.drone_docs().values() if d.status is DroneStatus.RESERVED]
    assert [d.id for d in reserved] == ["drone-001"]
    sent = world.bus.sent_to(DELIVERY_INBOX_QUEUE)
    assert [(m.message_id, m.message.drone_id) for m in sent] == [("d1:DroneScheduled", "drone-001")] * 2  # type: ignore[attr-defined]


def test_no_suitable_drone_reports_then_dead_letters() -> None:
    world = DroneWorld()
    outcome = world.handle(requested(size=PackageSize.LARGE, weight=30))
    assert isinstance(outcome, DeadLetter) and outcome.reason == ReasonCode.NO_DRONE_AVAILABLE
    [report] = world.bus.to(DELIVERY_INBOX_QUEUE)
    assert report.subject == "DroneSchedulingFailed" and report.message.reason == ReasonCode.NO_DRONE_AVAILABLE  # type: ignore[attr-defined]


def test_concurrent_requests_for_the_last_drone_get_it_once() -> None:
    container = InMemoryContainer("/fleetId")
    DroneRepository(container, "fleet-1").seed_once(seed_fleet("fleet-1", 1, BASE))
    worlds = [DroneWorld(size=1, container=container) for _ in range(8)]
    barrier = threading.Barrier(len(worlds))
    outcomes: dict[str, Outcome] = {}

    def run(i: int) -> None:
        barrier.wait()
        outcomes[f"d{i}"] = worlds[i].handle(requested(f"d{i}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(worlds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    winners = [k for k, o in outcomes.items() if isinstance(o, Complete) and "reserved" in o.note]
    assert len(outcomes) == 8 and len(winners) == 1
    assert worlds[0].drone_docs()["drone-001"].reserved_for == winners[0]
    reservations = [d for d in container.all() if d["kind"] == "reservation"]
    assert [r["deliveryId"] for r in reservations] == winners
    waiting = sorted(d["deliveryId"] for d in container.all() if d["kind"] == "waiting")
    assert waiting == sorted(set(outcomes) - set(winners)), "the others wait for the drone: back-pressure"


@pytest.mark.parametrize("kind", [DeliveryShipped, DeliveryFailed, DeliveryCancelled])
def test_outcome_releases_the_drone_once(kind: type) -> None:
    world = DroneWorld()
    world.handle(requested())
    assert isinstance(world.handle(ended(kind)), Complete)
    assert world.drone_docs()["drone-001"].status is DroneStatus.AVAILABLE
    assert world.drones.reservation("d1").is_released  # type: ignore[union-attr]  # a tombstone, not deleted
    assert "already released" in world.handle(ended(kind)).note  # type: ignore[union-attr]
    assert world.drone_docs()["drone-001"].status is DroneStatus.AVAILABLE


def test_release_only_touches_its_own_reservation() -> None:
    world = DroneWorld(size=1)
    world.handle(requested("d1"))
    world.handle(ended(DeliveryFailed, "d2"))
    assert world.drone_docs()["drone-001"].reserved_for == "d1"


def test_compensation_racing_ahead_of_a_retried_request_refuses_it() -> None:
    world = DroneWorld()
    world.handle(ended(DeliveryCancelled))
    outcome = world.handle(requested())
    assert isinstance(outcome, Complete) and "refused" in outcome.note
    assert world.bus.accepted == [] and all(d.status is DroneStatus.AVAILABLE for d in world.drone_docs().values())


def test_fault_injection_raises_a_transient_error() -> None:
    with pytest.raises(TransientFault):
        DroneWorld(fault_step="drone-scheduler").handle(requested())


def test_unexpected_type_is_dead_lettered_as_invalid() -> None:
    outcome = DroneWorld().handle(package_ready())
    assert isinstance(outcome, DeadLetter) and outcome.reason == ReasonCode.INVALID_MESSAGE



@pytest.mark.parametrize("reserved_before", [True, False], ids=["redelivery-after-reserving", "first-delivery-late"])
def test_compensation_landing_right_after_the_ended_check_still_wins(reserved_before: bool) -> None:
    container = RacingContainer("/fleetId")
    world = DroneWorld(container=container)
    if reserved_before:
        world.handle(requested())
    compensation: list[Outcome] = []
    container.on_read["ended:d1"] = lambda: compensation.append(world.handle(ended(DeliveryCancelled)))
    outcome = world.handle(requested())
    assert len(compensation) == 1 and isinstance(compensation[0], Complete)
    assert isinstance(outcome, Complete) and "refused" in outcome.note
    assert all(d.status is DroneStatus.AVAILABLE and d.reserved_for is None for d in world.drone_docs().values())
    assert world.drones.reservation("d1").is_released  # type: ignore[union-attr]
    assert len(world.bus.sent_to(DELIVERY_INBOX_QUEUE)) == (1 if reserved_before else 0), "the retry sent nothing"


class FailingBatchContainer(InMemoryContainer):
    """Every batch fails at ``index`` with ``status`` and changes nothing (like Cosmos answering 207)."""

    def __init__(self, index: int, status: int) -> None:
        super().__init__("/fleetId")
        self.failure = (index, status)

    def execute_batch(self, operations: Sequence[BatchOperation], partition_key: str) -> None:
        raise BatchFailed(*self.failure)


@pytest.mark.parametrize("index,status", [(0, 429), (0, 503), (1, 404), (0, 409)],
                         ids=["throttled", "unavailable", "drone-vanished", "conflict-but-unreadable"])
def test_reservation_failure_other_than_ours_or_taken_is_transient(index: int, status: int) -> None:
    world = DroneWorld(container=FailingBatchContainer(index, status))
    with pytest.raises((BatchFailed, TransientFault)):
        world.handle(requested())
    assert world.bus.sent == [], "no NoDroneAvailable for a failure that says nothing about drones"


def test_compensation_for_a_reservation_created_concurrently_releases_it() -> None:
    container = RacingContainer("/fleetId")
    world = DroneWorld(container=container)
    world.drones.seed_once(seed_fleet("fleet-1", 4, BASE))
    drone, etag = world.drones.drone("drone-001")  # type: ignore[misc]
    mine = ReservationDocument(id="reservation:d1", fleet_id="fleet-1", delivery_id="d1", drone_id=drone.id,
                               seconds_to_pickup=1, seconds_to_dropoff=2, created_at=T0)
    # The compensation reads no reservation; a request that passed its ended check earlier reserves right then;
    # the compensation's tombstone create gets 409 and it releases what the request reserved.
    container.on_read["reservation:d1"] = lambda: world.drones.reserve(mine, drone, etag)
    outcome = world.handle(ended(DeliveryFailed))
    assert isinstance(outcome, Complete) and "released" in outcome.note
    assert all(d.status is DroneStatus.AVAILABLE for d in world.drone_docs().values())
    assert world.drones.reservation("d1").is_released  # type: ignore[union-attr]


def test_a_busy_fleet_is_back_pressure_and_a_released_drone_serves_the_oldest_waiting_request() -> None:
    world = DroneWorld(size=1)
    world.handle(requested("d1"))
    outcome = world.handle(requested("d2"))
    assert isinstance(outcome, Complete) and "waiting" in outcome.note
    world.clock.advance(1)
    world.handle(requested("d3"))
    assert world.bus.types_to(DELIVERY_INBOX_QUEUE) == ["DroneScheduled"], "no failure for a busy fleet"
    world.handle(ended(DeliveryShipped, "d1"))  # the release serves the waiting list at once
    reports = world.bus.to(DELIVERY_INBOX_QUEUE)
    assert [(m.subject, m.session_id) for m in reports] == [("DroneScheduled", "d1"), ("DroneScheduled", "d2")]
    assert world.drone_docs()["drone-001"].reserved_for == "d2"
    assert [d["deliveryId"] for d in world.container.all() if d["kind"] == "waiting"] == ["d3"]


def test_a_request_that_waited_too_long_fails_with_no_drone_available() -> None:
    world = DroneWorld(size=1)
    world.handle(requested("d1"))
    world.handle(requested("d2"))
    assert serve_waiting(world.drones, world.bus, world.clock, world.fleet) == 0, "still busy, not yet given up"
    world.clock.advance(world.fleet.wait_seconds)
    serve_waiting(world.drones, world.bus, world.clock, world.fleet)
    failed = world.bus.to(DELIVERY_INBOX_QUEUE)[-1]
    assert (failed.subject, failed.session_id) == ("DroneSchedulingFailed", "d2")
    assert failed.message.reason == ReasonCode.NO_DRONE_AVAILABLE and "busy" in failed.message.detail  # type: ignore[attr-defined]
    assert [d for d in world.container.all() if d["kind"] == "waiting"] == []


def test_a_waiting_request_whose_delivery_ended_is_dropped_unserved() -> None:
    world = DroneWorld(size=1)
    world.handle(requested("d1"))
    world.handle(requested("d2"))
    world.handle(ended(DeliveryCancelled, "d2"))
    world.handle(ended(DeliveryShipped, "d1"))
    assert world.bus.types_to(DELIVERY_INBOX_QUEUE) == ["DroneScheduled"]
    assert world.drone_docs()["drone-001"].status is DroneStatus.AVAILABLE
    assert [d for d in world.container.all() if d["kind"] == "waiting"] == []


def test_the_waiting_list_is_served_once_however_many_serve_it() -> None:
    container = InMemoryContainer("/fleetId")
    first, second = DroneWorld(size=1, container=container), DroneWorld(size=1, container=container)
    first.handle(requested("d1"))
    first.handle(requested("d2"))
    first.handle(ended(DeliveryShipped, "d1"))
    second.bus = first.bus
    assert serve_waiting(second.drones, second.bus, second.clock, second.fleet) == 0, "nothing left to serve"
    assert first.bus.types_to(DELIVERY_INBOX_QUEUE) == ["DroneScheduled", "DroneScheduled"]


def test_the_wait_ends_before_deliverys_own_readiness_deadline() -> None:
    for deadline in (12.0, 30.0, 300.0):
        assert 0 < wait_for_a_drone(deadline) <= deadline - 5, "the timer (every 5 s) reports before the deadline"
