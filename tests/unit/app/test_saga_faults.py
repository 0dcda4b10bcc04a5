"""Commit, then announce, at unit speed: the interleavings that broke the saga, and the fault table, each driven
through the app's real functions by the in-memory saga router (tests/support/saga_router.py)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.memory import ManualClock
from contracts.messages import parse_message
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE
from core.ports import Outgoing
from core.settings import Settings
from delivery.state_machine import timer_token
from tests.support.saga_faults import Crash
from tests.support.saga_router import SagaRouter
from tests.unit.app.support import T0

PACKAGE, DRONE = "deliveries/package", "deliveries/drone-scheduler"
INBOX_DLQ = f"{DELIVERY_INBOX_QUEUE}/$deadletterqueue"
OUTCOMES = {"DeliveryShipped": "Shipped", "DeliveryFailed": "Failed", "DeliveryCancelled": "Cancelled"}
MAX_DELIVERY_COUNT = 10  # resources/Config.json, delivery-inbox
ALWAYS = 1_000_000
# Each failure is one broker redelivery (no in-process back-off): the interleavings are about what the broker does.
FAST = {"FlightTimeScale": "0.01", "MaxPackageWeightKg": "30"}  # flights of seconds, as devstack runs them
NO_BACKOFF = {**FAST, "TransientRetryBudgetSeconds": "0"}
SHIPPED_SETTINGS = Settings.from_env(FAST)  # the shipped back-off


def body(delivery_id: str, **package: Any) -> dict[str, Any]:
    return {"deliveryId": delivery_id, "ownerId": "owner-1",
            "pickupLocation": {"latitude": 47.61, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.62, "longitude": -122.35},
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": "Small", "weight": 2.5, **package}}


@pytest.fixture()
def router() -> Iterator[SagaRouter]:
    with SagaRouter(Settings.from_env(NO_BACKOFF), clock=ManualClock(T0)) as installed:
        yield installed


def state(router: SagaRouter, delivery_id: str = "d1") -> str | None:
    response = router.get(f"/api/deliveries/{delivery_id}")
    return json.loads(response.get_body())["state"] if response.status_code == 200 else None


def step_until(router: SagaRouter, done: Callable[[], bool], skip: Callable[[Any], bool] = lambda c: False,
               limit: int = 200) -> None:
    """Deliver what is available, one at a time (the clock moving to the next due message), until ``done``."""
    for _ in range(limit):
        if done():
            return
        choices = [c for c in router.available() if not skip(c)]
        if not choices:
            router.advance(1)
            continue
        router.deliver(choices[0].entity, message_id=choices[0].message_id)
    raise AssertionError("the flow never got there")


def fail_every_attempt(router: SagaRouter, message_id: str, port: str, method: str) -> None:
    """Make every attempt of one inbox message fail at ``port.method`` until the broker dead-letters it."""
    router.fail_next(port, ALWAYS, method=method, function="delivery_on_inbox")
    for _ in range(MAX_DELIVERY_COUNT):
        step_until(router, lambda: any(c.message_id == message_id for c in router.available(DELIVERY_INBOX_QUEUE)))
        router.deliver(DELIVERY_INBOX_QUEUE, message_id=message_id)
    router.faults.clear()
    assert [m.message_id for m in router.dead_letters(DELIVERY_INBOX_QUEUE)] == [message_id]


def topic_outcomes(router: SagaRouter, delivery_id: str) -> set[str]:
    """Outcome types the broker accepted on the topic for a delivery (re-publishes for late steps included)."""
    return {m.subject for m in router.bus.to(DELIVERIES_TOPIC) if m.subject in OUTCOMES
            and m.message.delivery_id == delivery_id}


def assert_invariants(router: SagaRouter, delivery_ids: list[str], gave_up_on: frozenset[str] = frozenset()) -> None:
    """What the fault suite checks on the real stack, from the services' own (in-memory) containers;
    ``gave_up_on``: MessageIds a test made fail for good on purpose (the broker rightly dead-lettered them)."""
    for delivery_id in delivery_ids:
        final = state(router, delivery_id)
        assert final in OUTCOMES.values(), f"{delivery_id} not terminal: {final}"
        assert {OUTCOMES[t] for t in topic_outcomes(router, delivery_id)} == {final}, delivery_id
        announced = {n["state"] for n in router.container("notifications").all() if n["deliveryId"] == delivery_id}
        assert announced == {final}, f"{delivery_id}: Event Grid announced {announced}, state {final}"
    drones = router.container("drones").all()
    assert [d["id"] for d in drones if d.get("kind") == "drone" and d["status"] != "Available"] == []
    assert [d["id"] for d in drones if d.get("kind") == "reservation" and d["status"] != "Released"] == []
    assert [d["id"] for d in router.container("packages").all() if d.get("status") == "Ready"] == []
    assert not [m for e in (PACKAGE, DRONE, DELIVERY_INBOX_QUEUE) for m in router.dead_letters(e)
                if m.dead_letter_reason == "MaxDeliveryCountExceeded" and m.message_id not in gave_up_on], \
        "a transient failure burned a delivery count"
    records = {r["messageId"] for r in router.container("deadletters").all()}
    dead = {m.message_id for e in (PACKAGE, DRONE, DELIVERY_INBOX_QUEUE) for m in router.dead_letters(e)}
    assert dead <= records, f"dead letters Remediation did not record: {dead - records}"


def flights_of(router: SagaRouter, delivery_id: str) -> list[Outgoing]:
    return [m for m in router.bus.to(DELIVERY_INBOX_QUEUE) if m.subject in ("FlightProgress", "ReadinessDeadline")
            and m.message.delivery_id == delivery_id]


# -- the interleavings of the issue, each one a test --------------------------------------------------------------

def test_a_cancel_that_was_never_saved_is_never_announced_and_the_old_timers_ship_once(router: SagaRouter) -> None:
    router.post("/api/deliveries", body("d1"))
    step_until(router, lambda: state(router) == "Scheduled")
    assert router.delete("/api/deliveries/d1").status_code == 202
    fail_every_attempt(router, "d1:CancelDelivery", "deliveries", "replace")
    assert topic_outcomes(router, "d1") == set() and router.events.published == [], "nothing announced unsaved"
    router.run_until_idle()
    assert state(router) == "Shipped" and topic_outcomes(router, "d1") == {"DeliveryShipped"}
    assert [e.id for e in router.events.published] == ["d1:DeliveryShipped"]
    assert router.container("packages").read("pkg-d1", "pkg-d1")["status"] == "Closed"  # type: ignore[index]
    [record] = [r for r in router.container("deadletters").all() if r["messageId"] == "d1:CancelDelivery"]
    assert record["requiresOperator"], "the lost cancel is an operator's call, not a second outcome"


def test_a_deadline_that_was_never_saved_is_never_announced_and_a_late_drone_flies(router: SagaRouter) -> None:
    router.post("/api/deliveries", body("d1"))
    hold_drone = lambda c: c.entity == DRONE  # noqa: E731 - the drone step is slow: it reports after the deadline
    step_until(router, lambda: state(router) == "AwaitingReadiness", skip=hold_drone)
    [deadline] = flights_of(router, "d1")
    router.clock.now = deadline.scheduled_at  # type: ignore[assignment]
    fail_every_attempt(router, deadline.message_id, "deliveries", "replace")
    assert topic_outcomes(router, "d1") == set() and router.events.published == []
    router.run_until_idle()  # now the drone step reports: the join completes and the delivery flies
    assert state(router) == "Shipped" and topic_outcomes(router, "d1") == {"DeliveryShipped"}
    assert_invariants(router, ["d1"], gave_up_on=frozenset({deadline.message_id}))


@pytest.mark.parametrize("crash_after_save", [False, True])
def test_one_crash_of_a_cancel_cannot_announce_two_outcomes(router: SagaRouter, crash_after_save: bool) -> None:
    router.post("/api/deliveries", body("d1"))
    step_until(router, lambda: state(router) == "Scheduled")
    router.delete("/api/deliveries/d1")
    # Dies right before saving the document (nothing saved), or right after saving it (nothing sent yet).
    if crash_after_save:
        router.crash_after("deliveries", method="replace", function="delivery_on_inbox")
    else:
        router.fail_next("deliveries", error=Crash, method="replace", function="delivery_on_inbox")
    router.deliver(DELIVERY_INBOX_QUEUE, message_id="d1:CancelDelivery")
    assert router.log[-1].outcome == "crashed" and topic_outcomes(router, "d1") == set()
    # The pickup timer was scheduled earlier (lower sequence number): after the crash it may come first.
    router.run_until_idle()
    final = "Cancelled" if crash_after_save else "Shipped"
    assert state(router) == final and {OUTCOMES[t] for t in topic_outcomes(router, "d1")} == {final}
    assert_invariants(router, ["d1"])


def test_a_request_whose_save_never_succeeded_schedules_nothing_and_a_redrive_gets_fresh_timers(
        router: SagaRouter) -> None:
    router.post("/api/deliveries", body("d1"))
    fail_every_attempt(router, "d1:DeliveryRequested", "deliveries", "create")
    router.run_until_idle()  # the steps report; nothing else happens
    assert state(router) is None and flights_of(router, "d1") == [], "no deadline for a request never saved"
    # An operator redrives it (devstack dlq redrive): the same message under a new MessageId.
    [dead] = router.dead_letters(DELIVERY_INBOX_QUEUE)
    redrive_id = "delivery-inbox:d1:DeliveryRequested:redrive:1"
    request = parse_message(dead.body, dead.subject)
    router.bus.send([Outgoing(DELIVERY_INBOX_QUEUE, request, redrive_id, "d1", None)])
    router.run_until_idle()
    assert state(router) == "Shipped"
    assert flights_of(router, "d1")[0].message_id == f"d1:ReadinessDeadline:{timer_token(redrive_id)}"
    assert topic_outcomes(router, "d1") == {"DeliveryShipped"}


@pytest.mark.parametrize("ending", ["NoDroneAvailable", "Cancelled"])
def test_a_package_may_be_sent_again_under_a_new_delivery_once_the_first_ended(router: SagaRouter,
                                                                                ending: str) -> None:
    if ending == "NoDroneAvailable":
        router.post("/api/deliveries", body("d1", packageId="shared", size="Large", weight=28))  # no drone carries it
        router.run_until_idle()
    else:
        router.post("/api/deliveries", body("d1", packageId="shared"))
        router.delete("/api/deliveries/d1")
        router.run_until_idle()
    first = json.loads(router.get("/api/deliveries/d1").get_body())
    assert first["state"] in ("Failed", "Cancelled") and first["reason"] == ending
    router.post("/api/deliveries", body("d2", packageId="shared"))
    router.run_until_idle()
    assert state(router, "d2") == "Shipped"
    package = router.container("packages").read("shared", "shared")
    assert package is not None and (package["deliveryId"], package["status"]) == ("d2", "Closed")


# -- the fault table, at unit speed --------------------------------------------------------------------------------

def many(router: SagaRouter, count: int, cancel_every: int = 3) -> list[str]:
    ids = [f"d{i}" for i in range(count)]
    for i, delivery_id in enumerate(ids):
        assert router.post("/api/deliveries", body(delivery_id)).status_code == 202
        if i % cancel_every == 0:
            router.delete(f"/api/deliveries/{delivery_id}")
    return ids


def test_event_grid_down_delays_announcements_and_blocks_no_transition() -> None:
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        router.fail_next("events", ALWAYS)  # down from the start
        ids = many(router, 12)
        router.run_for(120)
        assert all(state(router, d) in OUTCOMES.values() for d in ids), "every delivery ended regardless"
        assert router.events.published == [] and router.container("notifications").all() == []
        owed = [d for d in router.container("deliveries").all() if d["outbox"]]
        assert len(owed) == len(ids) and all(d["outboxDueAt"] for d in owed)
        router.faults.clear()  # Event Grid is back
        router.run_for(600)
        assert_invariants(router, ids)
        assert sorted(e.id.split(":")[0] for e in router.events.published) == sorted(ids), "each announced once"
        assert not [d for d in router.container("deliveries").all() if d["outbox"]]


@pytest.mark.parametrize("port", ["bus", "deliveries", "drones", "packages"])
def test_a_60_second_outage_of_any_dependency_is_outlasted_by_back_off(port: str) -> None:
    # The shipped back-off (waits up to 0.5, 1, 2, 4, 8, 8 s: 30 s budget per invocation) makes the outage's time
    # pass inside each invocation; the broker's delivery count grows by one per spent budget only, far from 10.
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0), sleep_advances_clock=True) as router:
        ids = many(router, 6)
        router.run_for(0.5)  # the flow is under way when the dependency goes down
        router.outage(port, 60)
        router.run_for(900)
        assert_invariants(router, ids)  # incl. no MaxDeliveryCountExceeded anywhere
        worst = max((d.delivery_count for d in router.log if not d.entity.startswith(("timer", "eventgrid"))),
                    default=0)
        assert worst <= 5, f"a 60 s outage used {worst} of {MAX_DELIVERY_COUNT} deliveries"
        # Most of the outage passes in back-off waits; the rest is the clock moving between messages (the jittered
        # waits over 15 seeds summed to 59.4-66.4 s), so "all 60 s in sleeps" would be a coin toss.
        assert sum(router.sleeps) >= 54, "the outage was waited out with back-off"


def test_a_post_during_a_cosmos_outage_is_refused_with_503_and_accepted_after() -> None:
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        router.outage("requests", 10)
        refused = router.post("/api/deliveries", body("d1"))
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert router.pending(PACKAGE) == [], "nothing accepted, nothing published"
        router.advance(10)
        assert router.post("/api/deliveries", body("d1")).status_code == 202
        router.run_until_idle()
        assert_invariants(router, ["d1"])


@pytest.mark.parametrize("port,method", [("deliveries", "read"), ("deliveries", "replace"), ("bus", "send"),
                                         ("drones", "execute_batch"), ("packages", "create")])
def test_a_crash_at_any_step_keeps_every_invariant(port: str, method: str) -> None:
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        ids = many(router, 6)
        for calls in (1, 3, 7):  # three deaths of "the host", at different points of the flow
            router.crash_after(port, calls=calls, method=method)
        router.run_for(900)
        assert any(d.outcome == "crashed" for d in router.log)
        assert_invariants(router, ids)


def test_owed_effects_survive_a_crash_between_the_save_and_the_send() -> None:
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        router.post("/api/deliveries", body("d1"))
        step_until(router, lambda: state(router) == "Scheduled")
        # The host dies right after saving PickedUp -> InTransit, before it scheduled FlightProgress(Delivered);
        # then the message's lock lapses and it is redelivered: a duplicate, but the owed timer goes out first.
        router.crash_after("deliveries", calls=1, method="replace", function="delivery_on_inbox")
        router.run_until_idle()
        assert state(router) == "Shipped"
        delivered = [m for m in flights_of(router, "d1") if m.message_id.startswith("d1:FlightProgress:Delivered")]
        assert len({m.message_id for m in delivered}) == 1
        assert_invariants(router, ["d1"])


def test_an_accepted_post_is_published_by_the_relay_when_the_broker_was_down() -> None:
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        router.fail_next("bus", 1, function="ingest_delivery")  # the broker refuses the POST's publish
        assert router.post("/api/deliveries", body("d1")).status_code == 202
        assert router.pending(PACKAGE) == []
        router.run_for(60)
        assert_invariants(router, ["d1"])
        assert state(router) == "Shipped"


def test_the_router_still_sees_the_inbox_message_the_app_addresses() -> None:
    # Guard for the helpers above: the outbox keeps the app's own addressing (session, MessageId, subject).
    with SagaRouter(SHIPPED_SETTINGS, clock=ManualClock(T0)) as router:
        router.post("/api/deliveries", body("d1"))
        inbox = router.pending(DELIVERY_INBOX_QUEUE)
        assert [(m.subject, m.session_id, m.message_id) for m in inbox] == [
            ("DeliveryRequested", "d1", "d1:DeliveryRequested")]
