"""The MessageBus port — one suite, run on the fake and on the Service Bus SDK against devstack's broker.

Both backends are observed the same way: what arrives on an entity, normalised to the fields the app relies on.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusReceivedMessage

from adapters.memory import InMemoryBus
from contracts.messages import ReadinessDeadline, parse_message
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE
from core.outbound import to_inbox, to_topic
from core.ports import MessageBus
from core.settings import Settings
from tests.support.servicebus import Broker
from tests.unit.app.support import requested

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
Observe = Callable[[str, str, int], list[dict[str, Any]]]   # (entity, delivery id, expected count) -> messages


def unique() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


class MessageBusContract:
    """Assertions every MessageBus must pass."""

    @pytest.fixture()
    def bus(self) -> MessageBus:
        raise NotImplementedError

    @pytest.fixture()
    def observe(self) -> Observe:
        raise NotImplementedError

    def test_inbox_message_carries_session_id_subject_and_trace(self, bus: MessageBus, observe: Observe) -> None:
        delivery_id = unique()
        outgoing = to_inbox(ReadinessDeadline(delivery_id=delivery_id, occurred_at=datetime.now(UTC)),
                            TRACEPARENT)
        bus.send([outgoing])
        [seen] = observe(DELIVERY_INBOX_QUEUE, delivery_id, 1)
        assert (seen["message_id"], seen["session_id"], seen["subject"]) == (
            f"{delivery_id}:ReadinessDeadline", delivery_id, "ReadinessDeadline")
        assert seen["traceparent"] == outgoing.traceparent
        assert seen["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]
        assert seen["body"]["messageType"] == "ReadinessDeadline" and seen["body"]["deliveryId"] == delivery_id
        # docs/design.md: every message carries messageType (also the subject), deliveryId, schemaVersion, occurredAt.
        assert {"schemaVersion": 1}.items() <= seen["body"].items() and seen["body"]["occurredAt"]
        assert parse_message(json.dumps(seen["body"]), seen["subject"]).delivery_id == delivery_id

    def test_topic_message_reaches_the_subscription(self, bus: MessageBus, observe: Observe) -> None:
        delivery_id = unique()
        bus.send([to_topic(requested(delivery_id), TRACEPARENT)])
        [seen] = observe(DELIVERIES_TOPIC, delivery_id, 1)
        assert (seen["message_id"], seen["subject"]) == (f"{delivery_id}:DeliveryRequested", "DeliveryRequested")
        assert seen["body"]["packageInfo"]["packageId"] == f"pkg-{delivery_id}"
        assert parse_message(json.dumps(seen["body"]), seen["subject"]).schema_version == 1

    def test_repeated_message_id_is_dropped(self, bus: MessageBus, observe: Observe) -> None:
        delivery_id = unique()
        message = to_inbox(ReadinessDeadline(delivery_id=delivery_id, occurred_at=datetime.now(UTC)), None)
        bus.send([message])
        bus.send([message])
        assert len(observe(DELIVERY_INBOX_QUEUE, delivery_id, 2)) == 1

    def test_scheduled_message_keeps_its_enqueue_time(self, bus: MessageBus, observe: Observe) -> None:
        delivery_id = unique()
        at = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
        bus.send([to_inbox(ReadinessDeadline(delivery_id=delivery_id, occurred_at=at), None, at=at)])
        [seen] = observe(DELIVERY_INBOX_QUEUE, delivery_id, 1)
        assert seen["scheduled_at"] == at


    def test_a_cancelled_timer_never_arrives_and_a_spent_number_is_skipped(self, bus: MessageBus,
                                                                            observe: Observe) -> None:
        kept, cancelled = unique(), unique()
        at = datetime.now(UTC) + timedelta(seconds=2)  # ahead: both are still scheduled when the cancel comes
        numbers = bus.send([to_inbox(ReadinessDeadline(delivery_id=d, occurred_at=at), None, at=at)
                            for d in (kept, cancelled)])
        assert set(numbers) == {f"{kept}:ReadinessDeadline", f"{cancelled}:ReadinessDeadline"}
        assert len(set(numbers.values())) == 2 and all(isinstance(n, int) for n in numbers.values())
        number = numbers[f"{cancelled}:ReadinessDeadline"]
        bus.cancel_scheduled(DELIVERY_INBOX_QUEUE, [number])
        bus.cancel_scheduled(DELIVERY_INBOX_QUEUE, [number])  # cancelled already: nothing left to cancel
        assert observe(DELIVERY_INBOX_QUEUE, cancelled, 1) == []
        assert len(observe(DELIVERY_INBOX_QUEUE, kept, 1)) == 1
        bus.cancel_scheduled(DELIVERY_INBOX_QUEUE, [numbers[f"{kept}:ReadinessDeadline"]])  # enqueued already

    def test_an_immediate_message_has_no_sequence_number_to_cancel(self, bus: MessageBus, observe: Observe) -> None:
        delivery_id = unique()
        assert bus.send([to_topic(requested(delivery_id), None)]) == {}
        assert len(observe(DELIVERIES_TOPIC, delivery_id, 1)) == 1


class TestInMemoryMessageBus(MessageBusContract):
    @pytest.fixture()
    def bus(self) -> InMemoryBus:
        return InMemoryBus()

    @pytest.fixture()
    def observe(self, bus: InMemoryBus) -> Observe:
        def seen(entity: str, delivery_id: str, _: int) -> list[dict[str, Any]]:
            return [{"message_id": m.message_id, "session_id": m.session_id, "subject": m.subject,
                     "traceparent": m.traceparent, "body": m.message.to_json_dict(), "scheduled_at": m.scheduled_at}
                    for m in bus.to(entity) if m.message.delivery_id == delivery_id and m not in bus.cancelled]
        return seen


class TestServiceBusMessageBus(MessageBusContract):
    @pytest.fixture()
    def bus(self, broker: Broker) -> Iterator[MessageBus]:
        from adapters.servicebus import ServiceBusMessageBus
        bus = ServiceBusMessageBus(Settings.from_env({"ServiceBusConnection": broker.connection_string}))
        yield bus
        bus.close()

    @pytest.fixture()
    def observe(self, broker: Broker) -> Iterator[Observe]:
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            yield lambda entity, delivery_id, count: _receive(client, entity, delivery_id, count)


def _receive(client: ServiceBusClient, entity: str, delivery_id: str, count: int) -> list[dict[str, Any]]:
    """Receive until ``count`` messages of this delivery arrived or a short wait passes with nothing new."""
    if entity == DELIVERY_INBOX_QUEUE:
        receiver = client.get_queue_receiver(entity, session_id=delivery_id, max_wait_time=2)
    else:
        receiver = client.get_subscription_receiver(entity, "package", max_wait_time=2)
    found: list[dict[str, Any]] = []
    with receiver:
        while len(found) < count:
            batch = receiver.receive_messages(max_message_count=10, max_wait_time=2)
            if not batch:
                break
            for message in batch:
                receiver.complete_message(message)
                normalised = _normalise(message)
                if normalised["body"].get("deliveryId") == delivery_id:
                    found.append(normalised)
    return found


def _normalise(message: ServiceBusReceivedMessage) -> dict[str, Any]:
    props = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in (message.application_properties or {}).items()}
    return {"message_id": message.message_id, "session_id": message.session_id, "subject": message.subject,
            "traceparent": props.get("traceparent"), "body": json.loads(b"".join(message.body)),
            "scheduled_at": message.scheduled_enqueue_time_utc}


def test_shipped_topology_forwards_requests_to_the_delivery_session(broker: Broker) -> None:
    """resources/Config.json: the `delivery` subscription forwards only DeliveryRequested into its session."""
    from adapters.servicebus import ServiceBusMessageBus
    from contracts.messages import DeliveryCancelled
    bus = ServiceBusMessageBus(Settings.from_env({"ServiceBusConnection": broker.connection_string}))
    delivery_id = unique()
    try:
        bus.send([to_topic(requested(delivery_id), TRACEPARENT),
                  to_topic(DeliveryCancelled(delivery_id=delivery_id, occurred_at=datetime.now(UTC),
                                             owner_id="o", package_id="p"), TRACEPARENT)])
    finally:
        bus.close()
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        seen = _receive(client, DELIVERY_INBOX_QUEUE, delivery_id, 2)
    assert [m["subject"] for m in seen] == ["DeliveryRequested"]
    assert seen[0]["message_id"] == f"{delivery_id}:DeliveryRequested" and seen[0]["session_id"] == delivery_id
