"""Entity depths (core/depths.py): what the admin endpoint reports, counted from the broker's own state."""
from __future__ import annotations

import dataclasses

import pytest

from devstack.servicebus.core import timers
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.depths import EntityDepth, measure
from devstack.servicebus.core.filters import MessageFacts
from devstack.servicebus.core.message import Envelope
from devstack.servicebus.core.settlement import Outcome, settle
from devstack.servicebus.core.topology import load_topology
from tests.unit.servicebus.fakes import FakeClock, FakeReceiver, MemoryStore

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
    {"Name": "q", "Properties": {"LockDuration": "PT10S"}},
    {"Name": "s", "Properties": {"RequiresSession": True}},
    {"Name": "team/inbox", "Properties": {}},  # a queue whose name has a "/" is still a queue
], "Topics": [{"Name": "t", "Subscriptions": [{"Name": "all"}]}]}]}}


def env(body: str, session: str | None = None, scheduled_at: float | None = None) -> Envelope:
    return Envelope(body.encode(), MessageFacts({}, {}), None, session, None, scheduled_at)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def broker(clock: FakeClock) -> Broker:
    return Broker(load_topology(CONFIG), MemoryStore(), clock)


def depths(broker: Broker) -> dict[str, EntityDepth]:
    return {depth.path: depth for depth in measure(broker).entities}


def test_an_empty_broker_lists_every_queue_topic_and_subscription_in_topology_order(broker: Broker,
                                                                                    clock: FakeClock) -> None:
    snapshot = measure(broker)
    assert snapshot.taken_at == clock.now
    assert [(d.path, d.kind) for d in snapshot.entities] == [("q", "queue"), ("s", "queue"), ("team/inbox", "queue"),
                                                             ("t", "topic"), ("t/Subscriptions/all", "subscription")]
    assert all(d.active == d.scheduled == d.dead_lettered == d.locked == d.deferred == 0 for d in snapshot.entities)


def test_active_scheduled_locked_deferred_and_dead_lettered_are_counted_apart(broker: Broker, clock: FakeClock) -> None:
    broker.send("q", [env(f"m{i}") for i in range(5)] + [env("later", scheduled_at=clock.now + 60)])
    receiver = FakeReceiver(credit=3)
    broker.attach("q", receiver, None, sessionful=False, timeout=5)
    settle(broker, receiver.token(0), Outcome.DEFER)
    settle(broker, receiver.token(1), Outcome.DEAD_LETTER, "Poison", "bad body")
    q = depths(broker)["q"]
    # m2 is locked (still active, as Azure counts it); m3, m4 wait; m0 deferred; m1 dead-lettered; one scheduled.
    assert (q.active, q.locked, q.deferred, q.dead_lettered, q.scheduled) == (3, 1, 1, 1, 1)
    assert q.receivers == 1
    assert q.view() == {"kind": "queue", "active": 3, "scheduled": 1, "deadLettered": 1, "locked": 1, "deferred": 1,
                        "total": 6, "sessions": 0, "receivers": 1}
    clock.advance(61)
    timers.tick(broker)  # the scheduled message is enqueued: active now
    q = depths(broker)["q"]
    assert (q.active, q.scheduled) == (4, 0)


def test_a_topic_counts_what_is_scheduled_on_it_and_subscriptions_their_copies(broker: Broker,
                                                                               clock: FakeClock) -> None:
    broker.send("t", [env("now"), env("later", scheduled_at=clock.now + 30)])
    found = depths(broker)
    assert (found["t"].scheduled, found["t"].active) == (1, 0)
    assert (found["t/Subscriptions/all"].active, found["t/Subscriptions/all"].scheduled) == (1, 0)


def test_sessions_are_counted_and_the_snapshot_is_immutable(broker: Broker) -> None:
    broker.send("s", [env("a", session="one"), env("b", session="two"), env("c", session="two")])
    snapshot = measure(broker)
    s = next(depth for depth in snapshot.entities if depth.path == "s")
    assert (s.active, s.sessions) == (3, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.active = 0  # type: ignore[misc]
    broker.send("s", [env("d", session="three")])
    assert s.active == 3 and isinstance(snapshot.entities, tuple)  # a later count never changes a published one
    assert snapshot.view()["entities"]["s"]["active"] == 3
