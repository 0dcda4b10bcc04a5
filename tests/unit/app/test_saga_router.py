"""The saga router's own mechanics: whole flows through the app's real functions, by resources/Config.json's rules."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.memory import ManualClock
from contracts.names import DELIVERY_INBOX_QUEUE
from core.outbound import to_inbox, to_topic
from core.settings import Settings
from tests.support.saga_router import Crash, RouterBoundExceeded, RoutingError, SagaRouter
from tests.support.saga_topology import Facts, TopologyError, load_topology
from tests.unit.app.support import T0, cancel, deadline, drone_scheduled, package_ready, requested

PACKAGE, DRONE, DELIVERY_SUB = "deliveries/package", "deliveries/drone-scheduler", "deliveries/delivery"
# No in-process back-off (an unknown key is ignored by from_env): each failure is one broker redelivery.
ENV = {"TransientRetryBudgetSeconds": "0"}
ALWAYS = 1_000_000


def body(delivery_id: str = "d1", **overrides: Any) -> dict[str, Any]:
    return {"deliveryId": delivery_id, "ownerId": "owner-1",
            "pickupLocation": {"latitude": 47.61, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.62, "longitude": -122.35},
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": "Small", "weight": 2.5}, **overrides}


@pytest.fixture()
def router() -> Iterator[SagaRouter]:
    with SagaRouter(Settings.from_env(ENV), clock=ManualClock(T0)) as installed:
        yield installed


def status(router: SagaRouter, delivery_id: str = "d1") -> dict[str, Any]:
    response = router.get(f"/api/deliveries/{delivery_id}")
    assert response.status_code == 200, response.get_body()
    return json.loads(response.get_body())


def drones_released(router: SagaRouter) -> bool:
    docs = router.container("drones").all()
    return all(d["status"] == "Available" for d in docs if d.get("kind") == "drone") and \
        all(d["status"] == "Released" for d in docs if d.get("kind") == "reservation")


def test_a_posted_delivery_ships_and_both_steps_close(router: SagaRouter) -> None:
    assert router.post("/api/deliveries", body()).status_code == 202
    router.run_until_idle()
    assert status(router)["state"] == "Shipped"
    assert router.container("packages").read("pkg-d1", "pkg-d1")["status"] == "Closed"  # type: ignore[index]
    assert drones_released(router) and any(d.get("kind") == "reservation" for d in router.container("drones").all())
    assert [n["id"] for n in router.container("notifications").all()] == ["d1:DeliveryShipped"]
    assert router.clock() > T0, "the flight timers made the clock move"
    assert router.get("/api/deliveries/nope").status_code == 404
    with pytest.raises(RoutingError):
        router.http("PATCH", "/api/deliveries/d1")


def test_the_topic_fans_out_and_the_delivery_subscription_forwards_to_the_session(router: SagaRouter) -> None:
    router.post("/api/deliveries", body())
    [to_package], [to_drone] = router.pending(PACKAGE), router.pending(DRONE)
    [inbox] = router.pending(DELIVERY_INBOX_QUEUE)
    assert router.pending(DELIVERY_SUB) == [], "a forwarding subscription keeps nothing"
    assert {to_package.subject, to_drone.subject, inbox.subject} == {"DeliveryRequested"}
    assert inbox.session_id == "d1" and inbox.sequence_number > to_package.sequence_number == to_drone.sequence_number
    assert inbox.application_properties[b"traceparent"] and inbox.json()["deliveryId"] == "d1"


def test_the_correlation_filter_keeps_other_subjects_off_the_delivery_subscription(router: SagaRouter) -> None:
    router.bus.send([to_topic(cancel("d9"), None)])
    assert [m.subject for m in router.pending(PACKAGE) + router.pending(DRONE)] == ["CancelDelivery"] * 2
    assert router.pending(DELIVERY_INBOX_QUEUE) == []


def test_sql_filters_in_the_equality_subset_route_and_anything_else_is_refused() -> None:
    def config(expression: str) -> dict[str, Any]:
        rule = {"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": expression}}}
        sub = {"Name": "s", "Properties": {}, "Rules": [rule]}
        return {"UserConfig": {"Namespaces": [{"Name": "ns", "Topics": [{"Name": "t", "Subscriptions": [sub]}]}]}}
    topology = load_topology(config("sys.Label = 'A' AND user.region = 'eu'"))
    assert [e.path for e in topology.targets("t", Facts({"Label": "A"}, {"region": "eu"}))] == ["t/s"]
    assert topology.targets("t", Facts({"Label": "A"}, {"region": "us"})) == []
    with pytest.raises(TopologyError, match="subset"):
        load_topology(config("sys.Label LIKE 'A%'"))


def test_a_session_is_fifo_with_one_message_in_flight(router: SagaRouter) -> None:
    router.bus.send([to_inbox(m, None) for m in (requested("s1"), package_ready("s1"), requested("s2"))])
    assert [(a.session_id, a.subject) for a in router.available(DELIVERY_INBOX_QUEUE)] == [
        ("s1", "DeliveryRequested"), ("s2", "DeliveryRequested")], "only each session's head"
    with pytest.raises(RoutingError, match="FIFO"):
        router.deliver(DELIVERY_INBOX_QUEUE, message_id="s1:PackageReady")
    seen: list[list[str | None]] = []
    router.after_call("deliveries", lambda: seen.append([a.session_id for a in router.available(DELIVERY_INBOX_QUEUE)]))
    router.deliver(DELIVERY_INBOX_QUEUE, session_id="s1")
    assert seen == [["s2"]], "while s1's head runs, nothing else of s1 is offered"
    assert [a.message_id for a in router.available(DELIVERY_INBOX_QUEUE)] == ["s1:PackageReady", "s2:DeliveryRequested"]


def test_scheduled_messages_wait_for_the_clock_in_due_order(router: SagaRouter) -> None:
    later, sooner = T0 + timedelta(seconds=120), T0 + timedelta(seconds=60)
    router.bus.send([to_inbox(deadline("a"), None, at=later), to_inbox(deadline("b"), None, at=sooner)])
    assert router.available() == [] and len(router.pending(DELIVERY_INBOX_QUEUE)) == 2
    done = [d for d in router.run_until_idle() if d.entity == DELIVERY_INBOX_QUEUE]
    assert [d.session_id for d in done] == ["b", "a"] and router.clock() == later


def test_an_always_failing_step_is_dead_lettered_and_remediation_fails_the_delivery(router: SagaRouter) -> None:
    router.fail_next("packages", ALWAYS)
    router.post("/api/deliveries", body())
    router.run_until_idle()
    request, compensation = router.dead_letters(PACKAGE)
    assert (request.subject, request.dead_letter_reason, request.delivery_count) == (
        "DeliveryRequested", "MaxDeliveryCountExceeded", 10)
    assert compensation.subject == "DeliveryFailed", "the compensation cannot reach the store either"
    record = router.container("deadletters").read("package:d1:DeliveryRequested", "package:d1:DeliveryRequested")
    assert record is not None and record["action"] == "StepFailedSent"
    assert "d1:StepFailed:package" in [m.message_id for m in router.bus.to(DELIVERY_INBOX_QUEUE)]
    assert (status(router)["state"], status(router)["reason"]) == ("Failed", "StepFailed")
    assert drones_released(router)
    assert router.pending(PACKAGE + "/$deadletterqueue") == [], "Remediation completed both dead letters"


def test_fewer_failures_than_the_max_succeed_on_redelivery(router: SagaRouter) -> None:
    router.fail_next("packages", 3)
    router.post("/api/deliveries", body())
    router.run_until_idle()
    requests = [(d.delivery_count, d.outcome) for d in router.log
                if d.entity == PACKAGE and d.subject == "DeliveryRequested"]
    assert requests == [(1, "abandon"), (2, "abandon"), (3, "abandon"), (4, "complete")]
    assert router.dead_letters(PACKAGE) == [] and status(router)["state"] == "Shipped"


def test_a_crash_between_save_and_send_leaves_the_message_locked_then_redelivered(router: SagaRouter) -> None:
    router.post("/api/deliveries", body())
    router.stop_between("packages", calls=1, method="create", function="package_on_deliveries")
    crashed = router.deliver(PACKAGE)
    assert (crashed.outcome, crashed.delivery_count) == ("crashed", 1)
    [left] = router.pending(PACKAGE)
    assert left.delivery_count == 1 and router.available(PACKAGE) == [], "not settled: locked until the lock lapses"
    assert "PackageReady" not in router.bus.types_to(DELIVERY_INBOX_QUEUE), "saved, never sent"
    assert [(c.method, c.function) for c in router.faults.calls if c.port == "packages"][-1] == (
        "create", "package_on_deliveries")
    router.run_until_idle()
    again = [d for d in router.log if d.entity == PACKAGE and d.subject == "DeliveryRequested"]
    assert [(d.delivery_count, d.outcome) for d in again] == [(1, "crashed"), (2, "complete")]
    assert status(router)["state"] == "Shipped"
    assert issubclass(Crash, BaseException) and not issubclass(Crash, Exception), "the app's except Exception misses it"


def test_events_reach_subscribers_once_per_id_unless_redelivered(router: SagaRouter) -> None:
    router.post("/api/deliveries", body())
    router.run_until_idle()
    router.redeliver_event("d1:DeliveryShipped")
    router.run_until_idle()
    assert [d.message_id for d in router.log if d.function == "notify_owner"] == ["d1:DeliveryShipped"] * 2
    assert len(router.container("notifications").all()) == 1, "the subscriber overwrites by event id"


def test_timers_fire_on_each_clock_advance(router: SagaRouter) -> None:
    names = [h.name for h in router.functions.timers]
    assert [d.function for d in router.fire_timers()] == names
    router.bus.send([to_inbox(deadline("t"), None, at=T0 + timedelta(seconds=5))])
    assert [d.function for d in router.run_until_idle() if d.entity.startswith("timer:")] == names
    ticks = [d for d in router.run_for(20, tick=5) if d.entity.startswith("timer:")]
    assert router.clock() == T0 + timedelta(seconds=25) and len(ticks) == 4 * len(names)


def test_bounds_raise_instead_of_hanging(router: SagaRouter) -> None:
    router.post("/api/deliveries", body())
    with pytest.raises(RouterBoundExceeded):
        router.run_until_idle(max_steps=2)
    with pytest.raises(RouterBoundExceeded, match="max_seconds"):
        router.run_until_idle(max_seconds=1)


def _scenario() -> list[tuple[Any, ...]]:
    with SagaRouter(Settings.from_env(ENV), clock=ManualClock(T0)) as router:
        router.fail_next("drones", 2)
        for delivery_id in ("d1", "d2"):
            router.post("/api/deliveries", body(delivery_id))
        router.bus.send([to_inbox(drone_scheduled("d3"), None)])
        router.run_until_idle()
        return [(d.entity, d.function, d.message_id, d.session_id, d.delivery_count, d.outcome) for d in router.log]


def test_the_same_test_twice_delivers_in_the_same_order() -> None:
    first, second = _scenario(), _scenario()
    assert first == second and len(first) > 20
