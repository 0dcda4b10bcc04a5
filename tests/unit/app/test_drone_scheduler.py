"""Drone Scheduler: idempotent seeding, nearest suitable drone, atomic reservation, release, refusal."""
from __future__ import annotations

import threading

import pytest

from adapters.drone_repository import DroneRepository
from adapters.memory import InMemoryBus, InMemoryContainer, ManualClock
from adapters.ports import TransientFault
from adapters.settlement import Complete, DeadLetter, Outcome
from contracts.documents import DroneDocument, DroneStatus
from contracts.messages import DeliveryCancelled, DeliveryFailed, DeliveryShipped, Location, Message, PackageSize
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from drone_scheduler.fleet import FleetConfig, seed_fleet
from drone_scheduler.handlers import handle_drone_message
from tests.unit.app.support import T0, package_ready, received, requested

BASE = Location(latitude=47.61, longitude=-122.33)


class DroneWorld:
    def __init__(self, size: int = 4, container: InMemoryContainer | None = None, fault_step: str | None = None) -> None:
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


def test_redelivered_request_reuses_its_own_reservation() -> None:
    world = DroneWorld()
    world.handle(requested())
    world.handle(requested())
    reserved = [d for d in world.drone_docs().values() if d.status is DroneStatus.RESERVED]
    assert [d.id for d in reserved] == ["drone-001"]
    assert world.bus.types_to(DELIVERY_INBOX_QUEUE) == ["DroneScheduled"]


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
    winners = [k for k, o in outcomes.items() if isinstance(o, Complete)]
    assert len(outcomes) == 8 and len(winners) == 1
    assert worlds[0].drone_docs()["drone-001"].reserved_for == winners[0]
    reservations = [d for d in container.all() if d["kind"] == "reservation"]
    assert [r["deliveryId"] for r in reservations] == winners


@pytest.mark.parametrize("kind", [DeliveryShipped, DeliveryFailed, DeliveryCancelled])
def test_outcome_releases_the_drone_once(kind: type) -> None:
    world = DroneWorld()
    world.handle(requested())
    assert isinstance(world.handle(ended(kind)), Complete)
    assert world.drone_docs()["drone-001"].status is DroneStatus.AVAILABLE
    assert world.drones.reservation("d1") is None
    assert "no drone held" in world.handle(ended(kind)).note  # type: ignore[union-attr]


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
