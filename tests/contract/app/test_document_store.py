"""The DocumentContainer port and the repositories on it — one suite, run on the fake and on Cosmos DB (devstack)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import PARTITION_KEYS
from adapters.memory import InMemoryContainer
from contracts.messages import Location, PackageSize
from core.ports import BatchFailed, BatchOperation, Conflict, DocumentContainer, InvalidId, NotFound, PreconditionFailed
from core.settings import Settings
from delivery.documents import DeliveryDocument
from delivery.repository import DeliveryRepository
from drone_scheduler.documents import DroneStatus, ReservationDocument
from drone_scheduler.fleet import seed_fleet
from drone_scheduler.repository import DRONE_CHANGED, RESERVATION_EXISTS, DroneRepository
from ingestion.repository import IngestionRepository
from package.documents import PackageDocument, PackageStatus
from package.repository import PackageRepository
from remediation.documents import DeadLetterAction, DeadLetterRecord
from remediation.repository import DeadLetterRepository
from tests.support.cosmos import CosmosEmulator

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class DocumentStoreContract:
    """Assertions every DocumentContainer must pass."""

    @pytest.fixture()
    def container_of(self) -> object:
        raise NotImplementedError

    def test_create_read_and_conflict(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("deliveries")
        item_id = unique("doc")
        created = container.create({"id": item_id, "kind": "x", "n": 1})
        assert created["_etag"] and container.read(item_id, item_id)["n"] == 1  # type: ignore[index]
        with pytest.raises(Conflict):
            container.create({"id": item_id, "kind": "x", "n": 2})
        assert container.read(unique("absent"), "nope") is None

    def test_replace_honours_etag(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("deliveries")
        item_id = unique("doc")
        first = container.create({"id": item_id, "n": 1})
        second = container.replace({"id": item_id, "n": 2}, if_match=first["_etag"])
        assert second["_etag"] != first["_etag"]
        with pytest.raises(PreconditionFailed):
            container.replace({"id": item_id, "n": 3}, if_match=first["_etag"])
        assert container.read(item_id, item_id)["n"] == 2  # type: ignore[index]
        with pytest.raises(NotFound):
            container.replace({"id": unique("absent"), "n": 1})

    def test_upsert_and_delete(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("deliveries")
        item_id = unique("doc")
        container.upsert({"id": item_id, "n": 1})
        container.upsert({"id": item_id, "n": 2})
        assert container.read(item_id, item_id)["n"] == 2  # type: ignore[index]
        container.delete(item_id, item_id)
        assert container.read(item_id, item_id) is None
        with pytest.raises(NotFound):
            container.delete(item_id, item_id)

    def test_query_kind_stays_in_its_partition(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("drones")
        fleet, other = unique("fleet"), unique("fleet")
        container.create({"id": "a", "fleetId": fleet, "kind": "drone"})
        container.create({"id": "b", "fleetId": fleet, "kind": "reservation"})
        container.create({"id": "a", "fleetId": other, "kind": "drone"})
        assert [(d["id"], d["fleetId"]) for d in container.query_kind(fleet, "drone")] == [("a", fleet)]

    def test_batch_is_all_or_nothing(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("drones")
        fleet = unique("fleet")
        existing = container.create({"id": "taken", "fleetId": fleet, "kind": "x"})
        with pytest.raises(BatchFailed) as failed:
            container.execute_batch([BatchOperation("create", "new", {"id": "new", "fleetId": fleet, "kind": "x"}),
                                     BatchOperation("create", "taken", {"id": "taken", "fleetId": fleet, "kind": "x"})],
                                    fleet)
        assert (failed.value.index, failed.value.status) == (1, 409)
        assert container.read("new", fleet) is None, "the first operation was rolled back"
        with pytest.raises(BatchFailed) as stale:
            container.execute_batch([BatchOperation("create", "new", {"id": "new", "fleetId": fleet, "kind": "x"}),
                                     BatchOperation("replace", "taken", {"id": "taken", "fleetId": fleet, "kind": "y"},
                                                    if_match='"stale"')], fleet)
        assert (stale.value.index, stale.value.status) == (1, 412)
        container.execute_batch([BatchOperation("create", "new", {"id": "new", "fleetId": fleet, "kind": "x"}),
                                 BatchOperation("replace", "taken", {"id": "taken", "fleetId": fleet, "kind": "y"},
                                                if_match=existing["_etag"]),
                                 BatchOperation("delete", "new")], fleet)
        assert container.read("new", fleet) is None and container.read("taken", fleet)["kind"] == "y"  # type: ignore[index]

    def test_reservation_batch_gives_a_drone_once(self, container_of) -> None:  # type: ignore[no-untyped-def]
        drones = DroneRepository(container_of("drones"), unique("fleet"))
        assert drones.seed_once(seed_fleet(drones.fleet_id, 2, Location(latitude=47.6, longitude=-122.3))) == 2
        (drone, etag), _ = sorted(drones.available(), key=lambda pair: pair[0].id)
        mine = ReservationDocument(id="reservation:d1", fleet_id=drones.fleet_id, delivery_id="d1", drone_id=drone.id,
                                   seconds_to_pickup=1, seconds_to_dropoff=2, created_at=NOW)
        drones.reserve(mine, drone, etag)
        with pytest.raises(BatchFailed) as again:
            drones.reserve(mine, drone, etag)
        assert again.value.index == RESERVATION_EXISTS
        theirs = mine.model_copy(update={"id": "reservation:d2", "delivery_id": "d2"})
        with pytest.raises(BatchFailed) as taken:
            drones.reserve(theirs, drone, etag)
        assert taken.value.index == DRONE_CHANGED and drones.reservation("d2") is None
        held, held_etag = drones.drone(drone.id)  # type: ignore[misc]
        assert (held.status, held.reserved_for) == (DroneStatus.RESERVED, "d1")
        _, reservation_etag = drones.reservation_with_etag("d1")  # type: ignore[misc]
        drones.release(mine, reservation_etag, held, held_etag, NOW)
        freed, _ = drones.drone(drone.id)  # type: ignore[misc]
        assert (freed.status, freed.reserved_for) == (DroneStatus.AVAILABLE, None)
        assert drones.reservation("d1").is_released  # type: ignore[union-attr]  # kept as a tombstone
        (again_drone, again_etag), _ = sorted(drones.available(), key=lambda pair: pair[0].id)
        with pytest.raises(BatchFailed) as refused:   # a late retry of d1 cannot reserve past the tombstone
            drones.reserve(mine, again_drone, again_etag)
        assert (refused.value.index, refused.value.status) == (RESERVATION_EXISTS, 409)
        assert drones.drone(drone.id)[0].status is DroneStatus.AVAILABLE  # type: ignore[index]

    def test_a_stale_release_cannot_rewrite_the_tombstone(self, container_of) -> None:  # type: ignore[no-untyped-def]
        drones = DroneRepository(container_of("drones"), unique("fleet"))
        drones.seed_once(seed_fleet(drones.fleet_id, 1, Location(latitude=47.6, longitude=-122.3)))
        [(drone, etag)] = drones.available()
        mine = ReservationDocument(id="reservation:d1", fleet_id=drones.fleet_id, delivery_id="d1", drone_id=drone.id,
                                   seconds_to_pickup=1, seconds_to_dropoff=2, created_at=NOW)
        drones.reserve(mine, drone, etag)
        # Two releases of d1 read the held reservation at once (a re-published outcome); the first one wins.
        _, stale_etag = drones.reservation_with_etag("d1")  # type: ignore[misc]
        held, held_etag = drones.drone(drone.id)  # type: ignore[misc]
        drones.release(mine, stale_etag, held, held_etag, NOW)
        first = drones.reservation("d1")
        freed, _ = drones.drone(drone.id)  # type: ignore[misc]
        with pytest.raises(BatchFailed) as late:  # the drone is someone else's business now: nothing to touch
            drones.release(mine, stale_etag, freed, None, NOW + timedelta(seconds=1))
        assert (late.value.index, late.value.status) == (0, 412)
        assert drones.reservation("d1") == first, "the tombstone keeps the first release's time"

    def test_compensation_tombstone_blocks_a_later_reservation(self, container_of) -> None:  # type: ignore[no-untyped-def]
        drones = DroneRepository(container_of("drones"), unique("fleet"))
        drones.seed_once(seed_fleet(drones.fleet_id, 1, Location(latitude=47.6, longitude=-122.3)))
        assert drones.tombstone("d1", NOW) and not drones.tombstone("d1", NOW)
        [(drone, etag)] = drones.available()
        late = ReservationDocument(id="reservation:d1", fleet_id=drones.fleet_id, delivery_id="d1", drone_id=drone.id,
                                   seconds_to_pickup=1, seconds_to_dropoff=2, created_at=NOW)
        with pytest.raises(BatchFailed) as refused:
            drones.reserve(late, drone, etag)
        assert (refused.value.index, refused.value.status) == (RESERVATION_EXISTS, 409)
        assert drones.reservation("d1").is_released and drones.available()[0][0].reserved_for is None  # type: ignore[union-attr]

    def test_package_writes_are_create_if_absent_and_etag_conditional(self, container_of) -> None:  # type: ignore[no-untyped-def]
        packages = PackageRepository(container_of("packages"))
        package = PackageDocument(id=unique("pkg"), delivery_id="d1", size=PackageSize.SMALL, weight=1.0,
                                  status=PackageStatus.READY, updated_at=NOW)
        etag = packages.create(package)
        with pytest.raises(Conflict):
            packages.create(package)
        cancelled = package.model_copy(update={"status": PackageStatus.CANCELLED})
        packages.replace(cancelled, etag)
        with pytest.raises(PreconditionFailed):
            packages.replace(package, etag)   # the stale Ready does not overwrite Cancelled
        assert packages.get(package.id).status is PackageStatus.CANCELLED  # type: ignore[union-attr]
        delivery_id = unique("d")
        assert packages.ended_outcome(delivery_id) is None
        packages.mark_ended(delivery_id, "DeliveryShipped", NOW)
        assert packages.ended_outcome(delivery_id) == "DeliveryShipped" and packages.is_ended(delivery_id)

    @pytest.mark.parametrize("bad", ["a/b", "a\\b", "a?b", "a#b", "a\tb"])
    def test_forbidden_id_characters_are_refused(self, container_of, bad: str) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("deadletters")
        with pytest.raises(InvalidId):
            container.upsert({"id": f"{unique('x')}{bad}"})

    @pytest.mark.parametrize("message_id", ["a/b", "a\\b", "what?", "x#1", "100%", "tab\there", "trailing ",
                                            "ünï/cødé", "/" * 128])
    def test_dead_letter_record_ids_round_trip(self, container_of, message_id: str) -> None:  # type: ignore[no-untyped-def]
        from core.settlement import Received
        from remediation.handlers import record_id
        records = DeadLetterRepository(container_of("deadletters"))
        entity = unique("package")
        record = DeadLetterRecord(
            id=record_id(entity, Received(body=b"", message_id=message_id)), entity=entity, message_id=message_id,
            subject=None, session_id=None, delivery_id=None, dead_letter_reason="InvalidMessage",
            dead_letter_description=None, reason_code=None, action=DeadLetterAction.RECORDED,
            requires_operator=False, delivery_count=1, application_properties={}, body="", trace_id=None,
            recorded_at=NOW)
        records.record(record)
        found = records.get(record.id)
        assert found is not None and found.message_id == message_id and found.id == record.id

    def test_delivery_repository_create_then_conditional_replace(self, container_of) -> None:  # type: ignore[no-untyped-def]
        deliveries = DeliveryRepository(container_of("deliveries"))
        delivery_id = unique("d")
        deliveries.save(DeliveryDocument(id=delivery_id), None)
        doc, etag = deliveries.get(delivery_id)  # type: ignore[misc]
        deliveries.save(doc.model_copy(update={"cancel_requested": True}), etag)
        with pytest.raises(PreconditionFailed):
            deliveries.save(doc, etag)
        with pytest.raises(Conflict):
            deliveries.save(doc, None)
        assert deliveries.get(delivery_id)[0].cancel_requested  # type: ignore[index]

    def test_query_due_finds_what_is_due_across_partitions(self, container_of) -> None:  # type: ignore[no-untyped-def]
        container: DocumentContainer = container_of("deliveries")
        # 1990 timestamps: no other test writes any, so a shared emulator does not disturb the counts.
        due = [unique("due"), unique("due")]
        container.create({"id": due[0], "outboxDueAt": "1990-01-01T00:00:01Z"})
        container.create({"id": due[1], "outboxDueAt": "1990-01-01T00:00:02.500000Z"})
        container.create({"id": unique("later"), "outboxDueAt": "1990-01-01T00:00:09Z"})
        container.create({"id": unique("null"), "outboxDueAt": None})
        container.create({"id": unique("none")})
        found = container.query_due("outboxDueAt", "1990-01-01T00:00:03Z", 10)
        assert sorted(d["id"] for d in found) == sorted(due) and all("_etag" in d for d in found)
        assert len(container.query_due("outboxDueAt", "1990-01-01T00:00:03Z", 1)) == 1

    def test_delivery_outbox_round_trips_and_is_found_when_due(self, container_of) -> None:  # type: ignore[no-untyped-def]
        from core.outbox import RelaySchedule, earliest_due, event_entry
        from core.ports import Event
        deliveries = DeliveryRepository(container_of("deliveries"))
        then = datetime(1991, 1, 1, tzinfo=UTC)
        event = Event(id="x:DeliveryShipped", event_type="t", subject="s", data={"a": 1}, event_time=then,
                      data_version="1.0")
        entry = event_entry(event, "delivery-events", then, RelaySchedule())
        doc = DeliveryDocument(id=unique("d"), outbox=[entry], outbox_due_at=earliest_due([entry]))
        etag = deliveries.save(doc, None)
        [(found, found_etag)] = [(d, e) for d, e in deliveries.with_owed_effects(then.replace(hour=1), 100)
                                 if d.id == doc.id]
        assert found == doc and found_etag == etag
        assert [d.id for d, _ in deliveries.with_owed_effects(then, 100) if d.id == doc.id] == [], "not due yet"

    def test_ingestion_first_wins(self, container_of) -> None:  # type: ignore[no-untyped-def]
        from ingestion.documents import IngestionRecord
        from tests.unit.app.support import requested
        requests = IngestionRepository(container_of("requests"))
        delivery_id = unique("d")
        first = IngestionRecord(id=delivery_id, request=requested(delivery_id), traceparent="t1", accepted_at=NOW)
        second = first.model_copy(update={"traceparent": "t2"})
        assert requests.add_first(first).traceparent == "t1"
        assert requests.add_first(second).traceparent == "t1"
        requests.mark_published(first)
        assert requests.get(delivery_id).published  # type: ignore[union-attr]


class TestInMemoryDocumentStore(DocumentStoreContract):
    @pytest.fixture()
    def container_of(self):  # type: ignore[no-untyped-def]
        containers: dict[str, InMemoryContainer] = {}
        return lambda name: containers.setdefault(name, InMemoryContainer(PARTITION_KEYS.get(name, "/id")))


class TestCosmosDocumentStore(DocumentStoreContract):
    @pytest.fixture()
    def container_of(self, cosmos: CosmosEmulator):  # type: ignore[no-untyped-def]
        from adapters.cosmos import CosmosContainers
        containers = CosmosContainers(Settings.from_env({"CosmosDBConnection": cosmos.connection_string}))
        return containers.container
