"""Package: its own limits, idempotent upsert, close/cancel on the outcome, refusal after the end."""
from __future__ import annotations

import pytest

from adapters.memory import InMemoryBus, InMemoryContainer, ManualClock
from contracts.messages import DeliveryCancelled, DeliveryFailed, DeliveryShipped, Message, PackageSize
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from core.ports import PreconditionFailed, TransientFault
from core.settlement import Complete, DeadLetter, Outcome
from package.documents import PackageStatus
from package.handlers import handle_package_message
from package.repository import PackageRepository
from tests.unit.app.support import T0, RacingContainer, ReadRecordingContainer, package_ready, received, requested


class PackageWorld:
    def __init__(self, fault_step: str | None = None, container: InMemoryContainer | None = None) -> None:
        self.container = container or InMemoryContainer("/id")
        self.packages = PackageRepository(self.container)
        self.bus = InMemoryBus()
        self.clock = ManualClock(T0)
        self.fault_step = fault_step

    def handle(self, message: Message) -> Outcome:
        return handle_package_message(message, received(message), self.packages, self.bus, self.clock,  # type: ignore[arg-type]
                                      25.0, self.fault_step)

    def reports(self) -> list[str]:
        return self.bus.types_to(DELIVERY_INBOX_QUEUE)


def ended(kind: type, delivery_id: str = "d1") -> Message:
    return kind(delivery_id=delivery_id, occurred_at=T0, owner_id="owner-1", package_id=f"pkg-{delivery_id}")


def test_valid_package_is_stored_and_reported_ready_to_the_delivery_session() -> None:
    world = PackageWorld()
    assert isinstance(world.handle(requested(weight=3.5, size=PackageSize.MEDIUM)), Complete)
    package = world.packages.get("pkg-d1")
    assert package is not None
    assert (package.status, package.weight, package.delivery_id) == (PackageStatus.READY, 3.5, "d1")
    [report] = world.bus.to(DELIVERY_INBOX_QUEUE)
    assert (report.subject, report.session_id, report.message_id) == ("PackageReady", "d1", "d1:PackageReady")


def test_a_new_package_is_created_without_reading_it_first() -> None:
    container = ReadRecordingContainer()
    world = PackageWorld(container=container)
    assert isinstance(world.handle(requested()), Complete) and world.reports() == ["PackageReady"]
    # Only the ended marker is read (before, and after the create: the compensation race); the create itself
    # answers whether the package existed.
    assert container.reads == ["ended:d1", "ended:d1"] and container.creates == ["pkg-d1"]


def test_a_rejected_package_costs_no_package_read_or_write() -> None:
    container = ReadRecordingContainer()
    world = PackageWorld(container=container)
    assert isinstance(world.handle(requested(weight=300.0)), DeadLetter)
    assert container.reads == ["ended:d1"] and container.creates == []


@pytest.mark.parametrize("weight", [0.0, -1.0, 25.01, 300.0])
def test_weight_outside_limits_is_rejected_reported_then_dead_lettered(weight: float) -> None:
    world = PackageWorld()
    outcome = world.handle(requested(weight=weight))
    assert isinstance(outcome, DeadLetter) and outcome.reason == ReasonCode.PACKAGE_REJECTED
    assert world.reports() == ["PackageRejected"] and world.packages.get("pkg-d1") is None
    assert world.bus.to(DELIVERY_INBOX_QUEUE)[0].message.reason == ReasonCode.PACKAGE_REJECTED  # type: ignore[attr-defined]


def test_weight_at_the_limit_is_accepted() -> None:
    assert isinstance(PackageWorld().handle(requested(weight=25.0)), Complete)


def test_package_id_of_another_delivery_is_rejected() -> None:
    world = PackageWorld()
    world.handle(requested("d1", package_id="shared"))
    outcome = world.handle(requested("d2", package_id="shared"))
    assert isinstance(outcome, DeadLetter) and "belongs to delivery d1" in outcome.description


@pytest.mark.parametrize("outcome,status", [(DeliveryFailed, PackageStatus.CANCELLED),
                                            (DeliveryCancelled, PackageStatus.CANCELLED),
                                            (DeliveryShipped, PackageStatus.CLOSED)])
def test_a_package_may_be_sent_again_once_its_delivery_ended(outcome: type, status: PackageStatus) -> None:
    world = PackageWorld()
    world.handle(requested("d1", package_id="shared"))
    world.handle(outcome(delivery_id="d1", occurred_at=T0, owner_id="owner-1", package_id="shared"))
    assert world.packages.get("shared").status is status  # type: ignore[union-attr]
    assert isinstance(world.handle(requested("d2", package_id="shared")), Complete)
    package = world.packages.get("shared")
    assert package is not None and (package.delivery_id, package.status) == ("d2", PackageStatus.READY)
    assert world.reports() == ["PackageReady", "PackageReady"]
    # The first delivery's late compensation must not touch the second delivery's package.
    world.handle(outcome(delivery_id="d1", occurred_at=T0, owner_id="owner-1", package_id="shared"))
    assert world.packages.get("shared").status is PackageStatus.READY  # type: ignore[union-attr]


def test_two_new_deliveries_racing_for_an_ended_package_cannot_both_take_it() -> None:
    container = RacingContainer("/id")
    world = PackageWorld(container=container)
    world.handle(requested("d1", package_id="shared"))
    world.handle(DeliveryFailed(delivery_id="d1", occurred_at=T0, owner_id="o", package_id="shared"))
    # d3 takes the package right after d2 read it: d2's ETag-conditional takeover must lose.
    container.on_read["shared"] = lambda: world.handle(requested("d3", package_id="shared"))
    with pytest.raises(PreconditionFailed):
        world.handle(requested("d2", package_id="shared"))
    outcome = world.handle(requested("d2", package_id="shared"))  # the retry: now held by a live delivery
    assert isinstance(outcome, DeadLetter) and "belongs to delivery d3" in outcome.description
    assert world.packages.get("shared").delivery_id == "d3"  # type: ignore[union-attr]


def test_duplicate_request_stores_one_package_and_one_report() -> None:
    world = PackageWorld()
    world.handle(requested())
    world.clock.advance(3600)  # past the broker's duplicate-detection window: nothing may rely on it here
    world.handle(requested())
    # The redelivery must re-send its report (the first attempt may have died before sending), under the
    # same MessageId, so Delivery applies one report however many copies arrive.
    sent = world.bus.sent_to(DELIVERY_INBOX_QUEUE)
    assert [(m.subject, m.message_id) for m in sent] == [("PackageReady", "d1:PackageReady")] * 2
    assert len([d for d in world.container.all() if d["kind"] == "package"]) == 1


@pytest.mark.parametrize("kind,status", [(DeliveryShipped, PackageStatus.CLOSED),
                                         (DeliveryFailed, PackageStatus.CANCELLED),
                                         (DeliveryCancelled, PackageStatus.CANCELLED)])
def test_outcome_closes_or_cancels_the_package_idempotently(kind: type, status: PackageStatus) -> None:
    world = PackageWorld()
    world.handle(requested())
    for _ in range(2):
        assert isinstance(world.handle(ended(kind)), Complete)
    assert world.packages.get("pkg-d1").status is status  # type: ignore[union-attr]


def test_compensation_racing_ahead_of_a_retried_request_refuses_it() -> None:
    world = PackageWorld()
    world.handle(ended(DeliveryCancelled))
    outcome = world.handle(requested())
    assert isinstance(outcome, Complete) and "refused" in outcome.note
    assert world.reports() == [] and world.packages.get("pkg-d1") is None


def test_fault_injection_raises_a_transient_error_on_requests_only() -> None:
    world = PackageWorld(fault_step="package")
    with pytest.raises(TransientFault):
        world.handle(requested())
    assert isinstance(world.handle(ended(DeliveryFailed)), Complete)


def test_unexpected_type_is_dead_lettered_as_invalid() -> None:
    outcome = PackageWorld().handle(package_ready())
    assert isinstance(outcome, DeadLetter) and outcome.reason == ReasonCode.INVALID_MESSAGE



@pytest.mark.parametrize("stored_before", [True, False], ids=["redelivery-after-storing", "first-delivery-late"])
@pytest.mark.parametrize("kind,status", [(DeliveryCancelled, PackageStatus.CANCELLED),
                                         (DeliveryShipped, PackageStatus.CLOSED)])
def test_compensation_landing_right_after_the_ended_check_still_wins(stored_before: bool, kind: type,
                                                                     status: PackageStatus) -> None:
    container = RacingContainer()
    world = PackageWorld(container=container)
    if stored_before:
        world.handle(requested())
    compensation: list[Outcome] = []
    container.on_read["ended:d1"] = lambda: compensation.append(world.handle(ended(kind)))
    outcome = world.handle(requested())
    assert len(compensation) == 1 and isinstance(compensation[0], Complete)
    assert isinstance(outcome, Complete) and "refused" in outcome.note
    assert world.packages.get("pkg-d1").status is status  # type: ignore[union-attr]
    assert len(world.bus.sent_to(DELIVERY_INBOX_QUEUE)) == (1 if stored_before else 0), "the retry sent nothing"


def test_compensation_racing_a_read_package_does_not_overwrite_a_newer_write() -> None:
    container = RacingContainer()
    world = PackageWorld(container=container)
    world.handle(requested())
    # The compensation reads the package; the package changes right then; its ETag-conditional replace must fail.
    container.on_read["pkg-d1"] = lambda: world.packages.replace(
        world.packages.get("pkg-d1").model_copy(update={"tag": "changed"}),  # type: ignore[union-attr]
        world.packages.get_with_etag("pkg-d1")[1])  # type: ignore[index]
    with pytest.raises(PreconditionFailed):
        world.handle(ended(DeliveryFailed))
    assert isinstance(world.handle(ended(DeliveryFailed)), Complete)  # the retry re-reads and applies
    assert world.packages.get("pkg-d1").status is PackageStatus.CANCELLED  # type: ignore[union-attr]
