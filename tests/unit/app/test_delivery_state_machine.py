"""Every row of the Delivery state machine table (docs/design.md), driven through the handler on in-memory fakes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory import InMemoryBus, InMemoryContainer, InMemoryEventPublisher, ManualClock
from contracts.events import DeliveryState
from contracts.messages import FlightProgress, FlightStage, Message, ReadinessDeadline, Step
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from core.outbox import RelaySchedule
from core.ports import Outgoing
from core.settlement import Complete, DeadLetter, Outcome, on_contract
from delivery.documents import DeliveryDocument
from delivery.handlers import delivery_status, handle_inbox_message, relay_owed_effects
from delivery.repository import DeliveryRepository
from delivery.state_machine import timer_token
from tests.unit.app.support import (
    T0,
    cancel,
    deadline,
    drone_failed,
    drone_scheduled,
    flight,
    package_ready,
    package_rejected,
    received,
    requested,
    step_failed,
)

DEADLINE_S = 120.0
S = DeliveryState


class DeliveryWorld:
    """The Delivery service wired to fakes."""

    def __init__(self) -> None:
        self.container = InMemoryContainer("/id")
        self.deliveries = DeliveryRepository(self.container)
        self.clock = ManualClock(T0)
        self.bus = InMemoryBus(self.clock)
        self.events = InMemoryEventPublisher()

    def handle(self, message: Message, **kwargs: object) -> Outcome:
        """Apply ``message``; a timer without a token stands for the one Delivery itself scheduled last (its
        token and MessageId), as the broker would deliver it."""
        if isinstance(message, (ReadinessDeadline, FlightProgress)) and message.token is None and not kwargs:
            scheduled = self.scheduled(message)
            if scheduled is not None:
                message, kwargs = scheduled.message, {"msg_id": scheduled.message_id}
        handler = on_contract(lambda m, r: handle_inbox_message(
            m, r, self.deliveries, self.bus, self.events, self.clock, DEADLINE_S))
        return handler(received(message, **kwargs))  # type: ignore[arg-type]

    def scheduled(self, timer: ReadinessDeadline | FlightProgress) -> Outgoing | None:
        """The last timer of that kind (and stage) Delivery sent to its own session."""
        stage = getattr(timer, "stage", None)
        same = [o for o in self.bus.to(DELIVERY_INBOX_QUEUE) if o.message.delivery_id == timer.delivery_id
                and type(o.message) is type(timer) and getattr(o.message, "stage", None) == stage]
        return same[-1] if same else None

    def doc(self, delivery_id: str = "d1") -> DeliveryDocument:
        loaded = self.deliveries.get(delivery_id)
        assert loaded is not None
        return loaded[0]

    def topic_types(self) -> list[str]:
        return self.bus.types_to(DELIVERIES_TOPIC)

    def event_types(self) -> list[str]:
        return [e.event_type.rsplit(".", 1)[1] for e in self.events.published]


@pytest.fixture()
def world() -> DeliveryWorld:
    return DeliveryWorld()


def scheduled_world(world: DeliveryWorld) -> DeliveryWorld:
    for message in (requested(), package_ready(), drone_scheduled()):
        world.handle(message)
    return world


def in_transit_world(world: DeliveryWorld) -> DeliveryWorld:
    scheduled_world(world).handle(flight(FlightStage.PICKED_UP))
    return world


def test_request_creates_delivery_and_schedules_readiness_deadline(world: DeliveryWorld) -> None:
    assert isinstance(world.handle(requested()), Complete)
    assert world.doc().state is S.REQUESTED
    [timer] = world.bus.to(DELIVERY_INBOX_QUEUE)
    token = timer_token("d1:DeliveryRequested")  # the state instance: the request's MessageId
    assert (timer.subject, timer.message_id, timer.session_id) == (
        "ReadinessDeadline", f"d1:ReadinessDeadline:{token}", "d1")
    assert timer.message.token == token and world.doc().timers == {"ReadinessDeadline": token}  # type: ignore[attr-defined]
    assert timer.scheduled_at == T0 + timedelta(seconds=DEADLINE_S)
    assert world.doc().readiness_deadline_at == timer.scheduled_at
    assert world.doc().outbox == [] and world.doc().outbox_due_at is None, "sent after the save, then marked sent"


@pytest.mark.parametrize("first,second", [(package_ready, drone_scheduled), (drone_scheduled, package_ready)])
def test_either_order_join_reaches_scheduled(world: DeliveryWorld, first, second) -> None:  # type: ignore[no-untyped-def]
    world.handle(requested())
    world.handle(first())
    assert world.doc().state is S.AWAITING_READINESS
    world.handle(second())
    doc = world.doc()
    assert doc.state is S.SCHEDULED
    assert doc.drone is not None and doc.drone.drone_id == "drone-001"
    assert doc.eta == T0 + timedelta(seconds=90)


def test_scheduled_flies_to_in_transit_then_shipped(world: DeliveryWorld) -> None:
    scheduled_world(world)
    pickup = world.bus.to(DELIVERY_INBOX_QUEUE)[-1]
    pickup_token = timer_token("d1:DroneScheduled")  # set by the report that completed the join
    assert (pickup.message_id, pickup.scheduled_at) == (f"d1:FlightProgress:PickedUp:{pickup_token}",
                                                        T0 + timedelta(seconds=30))
    world.clock.advance(30)
    world.handle(flight(FlightStage.PICKED_UP))
    assert world.doc().state is S.IN_TRANSIT
    delivered = world.bus.to(DELIVERY_INBOX_QUEUE)[-1]
    assert delivered.message_id == f"d1:FlightProgress:Delivered:{timer_token(pickup.message_id)}"
    assert delivered.scheduled_at == world.clock.now + timedelta(seconds=60)
    world.handle(flight(FlightStage.DELIVERED))
    assert world.doc().state is S.SHIPPED
    assert world.topic_types() == ["DeliveryShipped"] and world.event_types() == ["DeliveryShipped"]
    shipped = world.bus.to(DELIVERIES_TOPIC)[0]
    assert (shipped.message_id, shipped.session_id) == ("d1:DeliveryShipped", "d1")
    assert world.events.published[0].id == "d1:DeliveryShipped"


@pytest.mark.parametrize("package,drone,reason", [
    (package_rejected, drone_scheduled, ReasonCode.PACKAGE_REJECTED),
    (package_rejected, drone_failed, ReasonCode.PACKAGE_REJECTED),
    (package_ready, drone_failed, ReasonCode.NO_DRONE_AVAILABLE),
    (lambda: step_failed(Step.PACKAGE), drone_failed, ReasonCode.NO_DRONE_AVAILABLE),
    (lambda: step_failed(Step.PACKAGE), drone_scheduled, ReasonCode.STEP_FAILED),
    (package_rejected, lambda: step_failed(Step.DRONE_SCHEDULER), ReasonCode.PACKAGE_REJECTED),
    (package_ready, lambda: step_failed(Step.DRONE_SCHEDULER), ReasonCode.STEP_FAILED),
])
@pytest.mark.parametrize("drone_first", [False, True])
def test_failure_when_both_reports_in_by_precedence(world: DeliveryWorld, package, drone, reason,  # type: ignore[no-untyped-def]
                                                    drone_first: bool) -> None:
    world.handle(requested())
    first, second = (drone, package) if drone_first else (package, drone)
    world.handle(first())
    assert world.doc().state is S.AWAITING_READINESS, "one report is not enough to decide"
    world.handle(second())
    doc = world.doc()
    assert (doc.state, doc.reason) == (S.FAILED, reason)
    assert world.topic_types() == ["DeliveryFailed"] and world.event_types() == ["DeliveryFailed"]
    assert world.bus.to(DELIVERIES_TOPIC)[0].message.reason == reason  # type: ignore[attr-defined]


@pytest.mark.parametrize("reports,reason", [
    ([], ReasonCode.READINESS_TIMEOUT),
    ([package_ready], ReasonCode.READINESS_TIMEOUT),
    ([drone_scheduled], ReasonCode.READINESS_TIMEOUT),
    ([package_rejected], ReasonCode.PACKAGE_REJECTED),
    ([drone_failed], ReasonCode.NO_DRONE_AVAILABLE),
    ([lambda: step_failed(Step.PACKAGE)], ReasonCode.STEP_FAILED),
])
def test_readiness_deadline_fails_an_unscheduled_delivery(world: DeliveryWorld, reports, reason) -> None:  # type: ignore[no-untyped-def]
    world.handle(requested())
    for report in reports:
        world.handle(report())
    world.handle(deadline())
    assert (world.doc().state, world.doc().reason) == (S.FAILED, reason)
    assert world.topic_types() == ["DeliveryFailed"]


def test_readiness_deadline_after_scheduled_is_stale_and_costs_no_write(world: DeliveryWorld) -> None:
    scheduled_world(world)
    before = world.container.all()
    outcome = world.handle(deadline())
    assert isinstance(outcome, Complete) and "stale" in outcome.note
    assert world.doc().state is S.SCHEDULED and world.topic_types() == []
    assert world.container.all() == before, "a stale timer is not even recorded"


def test_a_timer_of_another_state_instance_is_stale(world: DeliveryWorld) -> None:
    world.handle(requested())
    forged = ReadinessDeadline(delivery_id="d1", occurred_at=T0, token="not-ours")
    outcome = world.handle(forged, msg_id="d1:ReadinessDeadline:not-ours")
    assert isinstance(outcome, Complete) and "stale" in outcome.note and world.doc().state is S.REQUESTED
    world.handle(deadline())  # the one this state instance set
    assert world.doc().state is S.FAILED


def test_a_redriven_request_gets_fresh_timers(world: DeliveryWorld) -> None:
    # A DeliveryRequested whose first attempt never got saved is redriven with a new MessageId: its timer must
    # get a MessageId of its own, or the broker would drop it as a duplicate of one scheduled earlier.
    world.handle(requested(), msg_id="package:d1:DeliveryRequested:redrive:1")
    [timer] = world.bus.to(DELIVERY_INBOX_QUEUE)
    assert timer.message_id == f"d1:ReadinessDeadline:{timer_token('package:d1:DeliveryRequested:redrive:1')}"
    assert timer.message_id != f"d1:ReadinessDeadline:{timer_token('d1:DeliveryRequested')}"


@pytest.mark.parametrize("setup", ["requested", "awaiting", "scheduled"])
def test_cancel_before_flight_cancels(world: DeliveryWorld, setup: str) -> None:
    world.handle(requested())
    if setup in ("awaiting", "scheduled"):
        world.handle(package_ready())
    if setup == "scheduled":
        world.handle(drone_scheduled())
    world.handle(cancel())
    assert (world.doc().state, world.doc().reason) == (S.CANCELLED, ReasonCode.CANCELLED)
    assert world.topic_types() == ["DeliveryCancelled"] and world.event_types() == ["DeliveryCancelled"]


@pytest.mark.parametrize("shipped", [False, True])
def test_cancel_in_the_air_or_after_shipping_is_refused_and_recorded(world: DeliveryWorld, shipped: bool) -> None:
    in_transit_world(world)
    if shipped:
        world.handle(flight(FlightStage.DELIVERED))
    before = world.topic_types()
    world.handle(cancel())
    doc = world.doc()
    assert doc.state is (S.SHIPPED if shipped else S.IN_TRANSIT)
    assert doc.history[-1].message_type == "CancelDelivery" and "refused" in doc.history[-1].note
    assert world.topic_types() == before


@pytest.mark.parametrize("terminal", ["failed", "cancelled"])
@pytest.mark.parametrize("late", [package_ready, drone_scheduled])
def test_late_success_report_republishes_terminal_event(world: DeliveryWorld, terminal: str, late) -> None:  # type: ignore[no-untyped-def]
    world.handle(requested())
    world.handle(deadline() if terminal == "failed" else cancel())
    expected = "DeliveryFailed" if terminal == "failed" else "DeliveryCancelled"
    world.handle(late())
    kind = late().message_type
    assert world.topic_types() == [expected, expected]
    republished = world.bus.to(DELIVERIES_TOPIC)[1]
    assert republished.message_id == f"d1:{expected}:{kind}", "own MessageId, or duplicate detection drops it"
    assert world.event_types() == [expected], "outsiders are told once"


def test_late_failure_report_after_terminal_is_only_recorded(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.handle(cancel())
    world.handle(drone_failed())
    assert world.topic_types() == ["DeliveryCancelled"]
    assert world.doc().history[-1].message_type == "DroneSchedulingFailed"


ALL_MESSAGES = [requested, package_ready, package_rejected, drone_scheduled, drone_failed, deadline, cancel,
                lambda: step_failed(Step.PACKAGE), lambda: step_failed(Step.DRONE_SCHEDULER),
                lambda: flight(FlightStage.PICKED_UP), lambda: flight(FlightStage.DELIVERED)]


@pytest.mark.parametrize("make", ALL_MESSAGES)
def test_duplicate_of_any_applied_message_has_no_effect(world: DeliveryWorld, make) -> None:  # type: ignore[no-untyped-def]
    if make is not requested:
        world.handle(requested())
    world.handle(make())
    doc, etag = world.deliveries.get("d1")  # type: ignore[misc]
    sends, events = len(world.bus.accepted), len(world.events.published)
    calls = world.bus.send_calls
    outcome = world.handle(make())
    assert isinstance(outcome, Complete) and "duplicate" in outcome.note
    assert world.deliveries.get("d1") == (doc, etag)
    assert (len(world.bus.accepted), len(world.events.published), world.bus.send_calls) == (sends, events, calls)


def test_reports_and_cancel_before_the_request_are_kept_for_it(world: DeliveryWorld) -> None:
    world.handle(package_ready())
    world.handle(drone_scheduled())
    assert delivery_status("d1", world.deliveries) is None, "not requested yet: 404"
    world.handle(requested())
    assert world.doc().state is S.SCHEDULED
    other = DeliveryWorld()
    other.handle(cancel())
    other.handle(requested())
    assert other.doc().state is S.CANCELLED and other.topic_types() == ["DeliveryCancelled"]


def test_history_keeps_message_time_and_trace_id(world: DeliveryWorld) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    world.handle(requested(), traceparent=traceparent)
    entry = world.doc().history[0]
    assert (entry.message_type, entry.message_id, entry.at) == ("DeliveryRequested", "d1:DeliveryRequested", T0)
    assert entry.trace_id == "0af7651916cd43dd8448eb211c80319c" == world.doc().trace_id
    world.handle(cancel(), traceparent=traceparent)
    assert world.events.published[0].data["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert world.bus.to(DELIVERIES_TOPIC)[0].traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


def test_the_state_is_saved_with_what_it_owes_before_anything_is_sent(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.bus.fail_next = ConnectionError("broker away")
    with pytest.raises(ConnectionError):
        world.handle(cancel())
    doc = world.doc()
    assert doc.state is S.CANCELLED, "committed first"
    assert [(e.channel.value, e.id) for e in doc.outbox] == [("ServiceBus", "d1:DeliveryCancelled"),
                                                            ("EventGrid", "d1:DeliveryCancelled")]
    assert world.topic_types() == [] and world.events.published == [], "nothing announced yet"
    outcome = world.handle(cancel())  # the redelivery: what is owed goes out first, the cancel is a duplicate
    assert isinstance(outcome, Complete) and "duplicate" in outcome.note
    assert world.topic_types() == ["DeliveryCancelled"] and world.event_types() == ["DeliveryCancelled"]
    assert world.doc().outbox == []


def test_owed_effects_go_out_before_the_next_message_is_applied(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.bus.fail_next = ConnectionError("broker away")
    with pytest.raises(ConnectionError):
        world.handle(cancel())
    world.handle(package_ready())  # a late report: the owed cancellation first, then the re-publish for it
    assert [m.message_id for m in world.bus.to(DELIVERIES_TOPIC)] == ["d1:DeliveryCancelled",
                                                                     "d1:DeliveryCancelled:PackageReady"]


def test_an_event_grid_outage_never_blocks_a_transition(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.events.fail_next = ConnectionError("event grid away")
    assert isinstance(world.handle(cancel()), Complete), "the state moved on; only the announcement waits"
    doc = world.doc()
    assert doc.state is S.CANCELLED and world.topic_types() == ["DeliveryCancelled"]
    [owed] = doc.outbox
    assert (owed.channel.value, owed.id, owed.attempts) == ("EventGrid", "d1:DeliveryCancelled", 1)
    assert doc.outbox_due_at == owed.next_attempt_at == T0 + timedelta(seconds=RelaySchedule().first_delay)
    assert relay_owed_effects(world.deliveries, world.bus, world.events, world.clock) == 0, "not due yet"
    world.clock.advance(RelaySchedule().first_delay)
    assert relay_owed_effects(world.deliveries, world.bus, world.events, world.clock) == 1
    assert world.event_types() == ["DeliveryCancelled"] and world.doc().outbox == []
    assert world.bus.sent_to(DELIVERIES_TOPIC) == world.bus.to(DELIVERIES_TOPIC), "the topic got it once"


def test_the_relay_backs_off_while_event_grid_stays_down(world: DeliveryWorld) -> None:
    class Down:
        calls = 0

        def publish(self, events: object) -> None:
            Down.calls += 1
            raise ConnectionError("still down")

    world.handle(requested())
    world.events.fail_next = ConnectionError("event grid away")
    world.handle(cancel())
    waits = []
    for _ in range(5):
        due = world.doc().outbox_due_at
        assert due is not None
        waits.append((due - world.clock.now).total_seconds())
        world.clock.now = due
        relay_owed_effects(world.deliveries, world.bus, Down(), world.clock)  # type: ignore[arg-type]
    assert waits == [5.0, 10.0, 20.0, 40.0, 80.0] and Down.calls == 5  # doubling after each failed attempt
    world.clock.now = world.doc().outbox_due_at  # type: ignore[assignment]
    relay_owed_effects(world.deliveries, world.bus, world.events, world.clock)
    assert world.event_types() == ["DeliveryCancelled"] and world.doc().outbox == []


def test_invalid_and_misrouted_messages_are_dead_lettered(world: DeliveryWorld) -> None:
    from core.settlement import Received
    bad = on_contract(lambda m, r: handle_inbox_message(m, r, world.deliveries, world.bus, world.events,
                                                        world.clock, DEADLINE_S))(Received(body=b'{"messageType": 1}'))
    assert isinstance(bad, DeadLetter) and bad.reason == ReasonCode.INVALID_MESSAGE
    from contracts.messages import DeliveryShipped
    shipped = DeliveryShipped(delivery_id="d1", occurred_at=T0, owner_id="o", package_id="p")
    outcome = world.handle(shipped)
    assert isinstance(outcome, DeadLetter) and outcome.reason == ReasonCode.INVALID_MESSAGE


def test_status_view_shows_state_reason_package_drone_eta_history(world: DeliveryWorld) -> None:
    scheduled_world(world)
    status = delivery_status("d1", world.deliveries)
    assert status is not None
    assert status["state"] == "Scheduled" and status["drone"]["droneId"] == "drone-001"
    assert status["package"]["packageId"] == "pkg-d1" and status["eta"] is not None
    assert [h["messageType"] for h in status["history"]] == ["DeliveryRequested", "PackageReady", "DroneScheduled"]
    assert delivery_status("nope", world.deliveries) is None


# -- the session's remembered copy (delivery/repository.py): no read per visit, never a wrong decision -----------
class CountingContainer(InMemoryContainer):
    """Counts the reads of each document."""

    def __init__(self) -> None:
        super().__init__("/id")
        self.reads: list[str] = []

    def read(self, item_id: str, partition_key: str) -> dict[str, object] | None:
        self.reads.append(item_id)
        return super().read(item_id, partition_key)


def another_instance(world: DeliveryWorld) -> DeliveryWorld:
    """A second host process: its own repository (its own memory) on the same container, bus and clock."""
    other = DeliveryWorld()
    other.container, other.bus, other.events, other.clock = world.container, world.bus, world.events, world.clock
    other.deliveries = DeliveryRepository(world.container)
    return other


def test_later_visits_of_a_session_skip_the_read() -> None:
    world = DeliveryWorld()
    world.container = CountingContainer()
    world.deliveries = DeliveryRepository(world.container)
    world.handle(requested())
    world.handle(package_ready())
    world.handle(drone_scheduled())
    world.handle(flight(FlightStage.PICKED_UP))
    assert world.container.reads == ["d1"], "only the first visit reads (the document did not exist yet)"
    assert world.doc().state is S.IN_TRANSIT


def test_a_save_by_someone_else_in_between_makes_the_message_apply_to_the_stored_document(
        world: DeliveryWorld) -> None:
    world.handle(requested())
    other = another_instance(world)
    other.handle(package_ready())          # the session moved to another instance for one visit
    assert world.handle(drone_scheduled()) == Complete("DroneScheduled recorded; scheduled, flight started")
    doc = world.doc()
    assert doc.state is S.SCHEDULED and [h.message_type for h in doc.history] == [
        "DeliveryRequested", "PackageReady", "DroneScheduled"]


def test_a_timer_set_elsewhere_is_not_taken_for_stale_on_a_remembered_copy(world: DeliveryWorld) -> None:
    world.handle(requested())
    other = another_instance(world)
    other.handle(package_ready())
    other.handle(drone_scheduled())       # sets the pickup timer there; this process never saw it
    assert world.handle(flight(FlightStage.PICKED_UP)) == Complete("picked up; in transit")
    assert world.doc().state is S.IN_TRANSIT


def test_a_decision_to_change_nothing_is_confirmed_on_the_stored_document() -> None:
    world = DeliveryWorld()
    world.container = CountingContainer()
    world.deliveries = DeliveryRepository(world.container)
    world.handle(requested())
    world.handle(package_ready())
    assert world.handle(package_ready()) == Complete("duplicate of a message already applied; no effect")
    assert world.container.reads == ["d1", "d1"], "the first visit, then the duplicate's confirmation"
    assert [h.message_type for h in world.doc().history] == ["DeliveryRequested", "PackageReady"]


# -- timers no longer needed are cancelled (docs/app.md "Timers") -------------------------------------------------
def cancelled_types(world: DeliveryWorld) -> list[str]:
    return [m.subject for m in world.bus.cancelled]


def test_the_readiness_deadline_is_cancelled_once_the_delivery_is_scheduled(world: DeliveryWorld) -> None:
    world.handle(requested())
    [(name, timer)] = world.doc().scheduled_timers.items()
    assert name == "ReadinessDeadline" and isinstance(timer.sequence_number, int), "the broker's number, kept"
    assert timer.due_at == T0 + timedelta(seconds=DEADLINE_S)
    world.handle(package_ready())
    assert cancelled_types(world) == []
    world.handle(drone_scheduled())
    assert cancelled_types(world) == ["ReadinessDeadline"]
    assert set(world.doc().scheduled_timers) == {"FlightProgress:PickedUp"}, "only timers still set"


def test_cancelling_before_pickup_cancels_the_pickup_timer(world: DeliveryWorld) -> None:
    for message in (requested(), package_ready(), drone_scheduled(), cancel()):
        world.handle(message)
    assert world.doc().state is S.CANCELLED
    assert cancelled_types(world) == ["ReadinessDeadline", "FlightProgress"]


def test_the_timer_being_handled_is_not_cancelled(world: DeliveryWorld) -> None:
    for message in (requested(), package_ready(), drone_scheduled()):
        world.handle(message)
    world.handle(flight(FlightStage.PICKED_UP))
    world.handle(flight(FlightStage.DELIVERED))
    assert world.doc().state is S.SHIPPED
    assert cancelled_types(world) == ["ReadinessDeadline"], "both flight timers fired: nothing left to cancel"


def test_a_timer_about_to_fire_is_not_cancelled(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.handle(package_ready())
    world.clock.advance(DEADLINE_S - 0.5)  # the deadline is due in half a second: it may be enqueued already
    world.handle(drone_scheduled())
    assert world.doc().state is S.SCHEDULED and cancelled_types(world) == []


def test_a_failed_cancel_never_fails_the_transition(world: DeliveryWorld) -> None:
    world.handle(requested())
    world.handle(package_ready())

    def refuse(entity: str, numbers: object) -> None:
        raise ConnectionError("broker unreachable")

    world.bus.cancel_scheduled = refuse  # type: ignore[method-assign]
    assert world.handle(drone_scheduled()) == Complete("DroneScheduled recorded; scheduled, flight started")
    assert world.doc().state is S.SCHEDULED
