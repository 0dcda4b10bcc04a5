"""The EventPublisher port — one suite, run on the fake and on the Event Grid SDK against devstack's topic,
which delivers through the app's own eventgrid.json subscription to a webhook."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.memory import InMemoryEventPublisher
from contracts.messages import DeliveryCancelled, DeliveryShipped
from contracts.reasons import ReasonCode
from core.outbound import outcome_event
from core.ports import EventPublisher
from core.settings import Settings
from tests.support.eventgrid import EventGrid
from tests.support.webhook import Webhook

Observe = Callable[[str], list[dict[str, Any]]]   # delivery id -> events delivered for it
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class EventPublisherContract:
    """Assertions every EventPublisher must pass."""

    @pytest.fixture()
    def publisher(self) -> EventPublisher:
        raise NotImplementedError

    @pytest.fixture()
    def observe(self) -> Observe:
        raise NotImplementedError

    def test_outcome_event_arrives_with_deterministic_id_type_and_data(self, publisher: EventPublisher,
                                                                      observe: Observe) -> None:
        delivery_id = f"d-{uuid.uuid4().hex[:12]}"
        outcome = DeliveryCancelled(delivery_id=delivery_id, occurred_at=datetime.now(UTC), owner_id="owner-1",
                                    package_id="p-1", reason=ReasonCode.CANCELLED)
        publisher.publish([outcome_event(outcome, TRACEPARENT)])
        [event] = observe(delivery_id)
        assert event["id"] == f"{delivery_id}:DeliveryCancelled"
        assert event["eventType"] == "Fabrikam.DroneDelivery.DeliveryCancelled"
        assert event["subject"] == f"deliveries/{delivery_id}" and event["dataVersion"] == "1.0"
        assert event["data"]["state"] == "Cancelled" and event["data"]["reason"] == "Cancelled"
        assert event["data"]["traceparent"] == TRACEPARENT and event["data"]["ownerId"] == "owner-1"

    def test_several_events_in_one_publish(self, publisher: EventPublisher, observe: Observe) -> None:
        ids = [f"d-{uuid.uuid4().hex[:12]}" for _ in range(3)]
        publisher.publish([outcome_event(DeliveryShipped(delivery_id=i, occurred_at=datetime.now(UTC),
                                                         owner_id="o", package_id="p", drone_id="drone-1"), None)
                           for i in ids])
        for delivery_id in ids:
            [event] = observe(delivery_id)
            assert event["data"]["droneId"] == "drone-1" and event["data"]["state"] == "Shipped"


class TestInMemoryEventPublisher(EventPublisherContract):
    @pytest.fixture()
    def publisher(self) -> InMemoryEventPublisher:
        return InMemoryEventPublisher()

    @pytest.fixture()
    def observe(self, publisher: InMemoryEventPublisher) -> Observe:
        def seen(delivery_id: str) -> list[dict[str, Any]]:
            return [{"id": e.id, "eventType": e.event_type, "subject": e.subject, "dataVersion": e.data_version,
                     "data": e.data} for e in publisher.published if e.data["deliveryId"] == delivery_id]
        return seen


class TestEventGridEventPublisher(EventPublisherContract):
    @pytest.fixture()
    def publisher(self, eventgrid: EventGrid) -> EventPublisher:
        from adapters.eventgrid import EventGridEventPublisher
        return EventGridEventPublisher(Settings.from_env({
            "EventGridTopicEndpoint": eventgrid.topic_endpoint("delivery-events"),
            "EventGridTopicKey": eventgrid.key_for("delivery-events")}))

    @pytest.fixture()
    def observe(self, subscriber: Webhook) -> Observe:
        def seen(delivery_id: str) -> list[dict[str, Any]]:
            events = subscriber.wait_for_events(lambda all_: any(e["data"]["deliveryId"] == delivery_id for e in all_))
            return [e for e in events if e["data"]["deliveryId"] == delivery_id]
        return seen
