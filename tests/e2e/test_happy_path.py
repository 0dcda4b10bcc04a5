"""Many deliveries at once reach Shipped; the fleet, notifications and traces come out right."""
from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.api import Api, new_delivery
from tests.e2e.checks import settled_notifications, wait_package, wait_released
from tests.support.stack import RunningStack

CONCURRENT = 12


def test_concurrent_deliveries_all_ship_and_the_fleet_is_whole_again(stack: RunningStack, api: Api) -> None:
    bodies = [new_delivery(weight=1.0 + i % 4) for i in range(CONCURRENT)]
    with ThreadPoolExecutor(CONCURRENT) as pool:
        replies = list(pool.map(api.post, bodies))
    for body, reply in zip(bodies, replies, strict=True):
        assert reply.status == 202, reply.body
        assert reply.body["deliveryId"] == body["deliveryId"]
        assert reply.headers["location"].endswith(f"/api/deliveries/{body['deliveryId']}")
        assert int(reply.headers["retry-after"]) > 0

    with ThreadPoolExecutor(CONCURRENT) as pool:
        documents = list(pool.map(lambda b: api.ended(b["deliveryId"], timeout=120), bodies))
    assert [d["state"] for d in documents] == ["Shipped"] * CONCURRENT
    assert_no_drone_flies_two_deliveries_at_once(documents)

    for body in bodies:
        wait_released(stack, body["deliveryId"])
        wait_package(stack, body["packageInfo"]["packageId"], "Closed")
        assert [n["state"] for n in settled_notifications(stack, body["deliveryId"])] == ["Shipped"]
    available = stack.query("drones", "SELECT VALUE COUNT(1) FROM c WHERE c.kind = 'drone' AND c.status = 'Available'")
    total = stack.query("drones", "SELECT VALUE COUNT(1) FROM c WHERE c.kind = 'drone'")
    assert available == total and total[0] >= CONCURRENT


def assert_no_drone_flies_two_deliveries_at_once(documents: list[dict]) -> None:
    """Per drone, the deliveries' spans from DroneScheduled to Shipped never overlap (a released
    drone may legitimately serve a later delivery)."""
    spans: dict[str, list[tuple[str, str]]] = {}
    for document in documents:
        times = {entry["messageType"]: entry["at"] for entry in document["history"]}
        spans.setdefault(document["drone"]["droneId"], []).append((times["DroneScheduled"], times["FlightProgress"]))
    for drone, flights in spans.items():
        flights.sort()
        for (_, ended), (started, _) in itertools.pairwise(flights):
            assert ended <= started, f"{drone} flew two deliveries at once: {flights}"


def test_every_hop_of_a_delivery_shares_the_callers_trace(stack: RunningStack, api: Api) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    body = new_delivery()
    reply = api.post(body, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert reply.status == 202
    document = api.ended(body["deliveryId"])
    assert document["state"] == "Shipped"
    assert document["traceId"] == trace_id
    assert {entry.get("traceId") for entry in document["history"]} == {trace_id}
    notes = settled_notifications(stack, body["deliveryId"])
    assert [n["traceId"] for n in notes] == [trace_id]


def test_duplicate_posts_make_one_delivery(stack: RunningStack, api: Api) -> None:
    body = new_delivery()
    first, second = api.post(body), api.post(body)
    assert (first.status, second.status) == (202, 202)
    changed = {**body, "ownerId": "someone-else"}
    assert api.post(changed).status == 202  # first wins: accepted, changes nothing
    document = api.ended(body["deliveryId"])
    assert document["state"] == "Shipped"
    assert document["ownerId"] == "owner-e2e"
    assert [e["messageType"] for e in document["history"]].count("DeliveryRequested") == 1
    assert len(settled_notifications(stack, body["deliveryId"])) == 1
