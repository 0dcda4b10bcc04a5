"""The Event Grid core service over an in-memory store and a fake clock: publish, subscriptions, scheduling,
settlement and dead letters, with no sockets and no SQLite."""
from __future__ import annotations

import json
import random

import pytest

from devstack.eventgrid.core.config import EVENT_GRID_SCHEMA, EventGridConfig, RetryPolicy, Subscription, Topic
from devstack.eventgrid.core.errors import InvalidEvents, TopicNotFound
from devstack.eventgrid.core.filters import SubscriptionFilter
from devstack.eventgrid.core.records import NewDelivery
from devstack.eventgrid.core.retry import Outcome, RetryPlanner
from devstack.eventgrid.core.service import EventGridService
from tests.unit.eventgrid.fakes import FakeClock, InMemoryStore

SHIPPED = Subscription("shipped", "http://hooks/shipped", SubscriptionFilter(included_event_types=("Shipped",)),
                       RetryPolicy(max_delivery_attempts=3, event_ttl_minutes=1))
EVERYTHING = Subscription("everything", "http://hooks/all")
TOPIC = Topic("delivery-events", "key", EVENT_GRID_SCHEMA, (SHIPPED, EVERYTHING))


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture()
def service(store: InMemoryStore, clock: FakeClock) -> EventGridService:
    return EventGridService(EventGridConfig((TOPIC,)), store, RetryPlanner(rng=random.Random(3)), clock)


def body(*types: str) -> bytes:
    return json.dumps([{"id": f"e{i}", "subject": "deliveries/d-1", "eventType": t, "dataVersion": "1.0",
                        "eventTime": "2024-01-01T00:00:00Z", "data": {"n": i}}
                       for i, t in enumerate(types)]).encode()


def test_publish_fans_out_by_filter_stores_and_wakes_the_dispatcher(service: EventGridService,
                                                                   store: InMemoryStore, clock: FakeClock) -> None:
    woken: list[bool] = []
    service.on_enqueued(lambda: woken.append(True))
    published = service.publish(service.topic("DELIVERY-EVENTS"), body("Shipped", "Failed"), "application/json")
    assert (published.events, published.deliveries) == (2, 3)
    assert sorted((r.subscription, r.event_id, r.enqueued_at) for r in store.rows.values()) == [
        ("everything", "e0", clock()), ("everything", "e1", clock()), ("shipped", "e0", clock())]
    assert woken == [True]


def test_an_invalid_publish_stores_nothing(service: EventGridService, store: InMemoryStore) -> None:
    with pytest.raises(InvalidEvents):
        service.publish(TOPIC, b"{}", "application/json")
    assert store.rows == {}


def test_unknown_topic_and_subscription_are_not_found(service: EventGridService) -> None:
    with pytest.raises(TopicNotFound, match="no topic named 'nope'"):
        service.topic("nope")
    with pytest.raises(TopicNotFound, match="has no subscription 'nope'"):
        service.dead_letters(TOPIC, "nope")


def test_only_validated_subscriptions_are_delivered_to(service: EventGridService, store: InMemoryStore) -> None:
    store.mark_validated(TOPIC.name, EVERYTHING.name, EVERYTHING.endpoint_url, 0.0)
    assert service.start() == [(TOPIC, SHIPPED)]  # still owes the handshake
    service.publish(TOPIC, body("Shipped"), "application/json")
    assert [(d.subscription.name, d.row.event_id) for d in service.next_pass(16, set()).due] == [("everything", "e0")]
    service.validated(TOPIC, SHIPPED)
    assert store.is_validated(TOPIC.name, SHIPPED.name, SHIPPED.endpoint_url)
    assert sorted(d.subscription.name for d in service.next_pass(16, set()).due) == ["everything", "shipped"]


def test_idle_pass_waits_until_the_next_row_is_due_at_most_a_second(service: EventGridService,
                                                                   clock: FakeClock) -> None:
    service.validated(TOPIC, EVERYTHING)
    assert service.next_pass(16, set()).idle_seconds == 1.0  # nothing queued
    service.publish(TOPIC, body("Failed"), "application/json")
    [due] = service.next_pass(16, set()).due
    assert service.next_pass(0, set()).idle_seconds == 0.5  # no free slot
    assert service.next_pass(16, {due.row.id}).idle_seconds == 0.5  # everything due is in flight
    service.settle(due, Outcome(500))
    clock.advance(8.5)  # the first retry is 10 s +/- 10 % away: 0.5 to 2.5 s from now
    assert 0.0 < service.next_pass(16, set()).idle_seconds <= 1.0


def test_settle_delivers_retries_and_dead_letters(service: EventGridService, store: InMemoryStore,
                                                   clock: FakeClock) -> None:
    service.validated(TOPIC, SHIPPED)
    service.publish(TOPIC, body("Shipped", "Shipped"), "application/json")
    first, second = service.next_pass(16, set()).due
    service.settle(first, Outcome(200))
    assert first.row.id not in store.rows
    service.settle(second, Outcome(503))
    assert (store.rows[second.row.id].attempts, store.rows[second.row.id].last_outcome) == (1, "ServiceUnavailable")
    clock.advance(12)
    [again] = service.next_pass(16, set()).due
    service.settle(again, Outcome(400))
    [letter] = service.dead_letters(TOPIC, "SHIPPED")
    assert (letter["id"], letter["deadLetterReason"], letter["deliveryAttempts"], letter["lastHttpStatusCode"]) == \
        ("e1", "UndeliverableDueToClientError", 2, 400)
    assert service.pending_count() == 2  # what waits for "everything", not validated


def test_events_waiting_for_a_handshake_expire_with_their_ttl(service: EventGridService, store: InMemoryStore,
                                                              clock: FakeClock) -> None:
    service.publish(TOPIC, body("Shipped"), "application/json")
    service.expire_waiting(TOPIC, SHIPPED)
    assert store.dead == set()
    clock.advance(61)  # SHIPPED keeps events 1 minute
    service.expire_waiting(TOPIC, SHIPPED)
    assert [r.dead_letter_reason for r in store.dead_letters(TOPIC.name, SHIPPED.name)] == ["TimeToLiveExceeded"]


def test_start_dead_letters_what_undeclared_subscriptions_left(service: EventGridService,
                                                              store: InMemoryStore) -> None:
    store.enqueue([NewDelivery(TOPIC.name, "removed", "e9", {"id": "e9"}), NewDelivery("gone", "s", "e8", {})], 0.0)
    service.start()
    assert sorted((r.topic, r.dead_letter_reason) for r in store.dead_letters()) == [
        ("delivery-events", "SubscriptionNotFound"), ("gone", "SubscriptionNotFound")]


def test_backoff_doubles_to_five_seconds_scaled_never_a_busy_loop(store: InMemoryStore, clock: FakeClock) -> None:
    service = EventGridService(EventGridConfig(()), store, RetryPlanner(time_scale=1.0), clock)
    assert [service.backoff(n) for n in (1, 2, 3, 6, 10_000)] == [0.25, 0.5, 1.0, 5.0, 5.0]
    fast = EventGridService(EventGridConfig(()), store, RetryPlanner(time_scale=0.001), clock)
    assert fast.backoff(1) == 0.05
