"""Send (single, list, batch) and receive (peek-lock, receive-and-delete, prefetch, iterator)."""
from __future__ import annotations

import threading

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusReceiveMode

from tests.support.servicebus import Broker


def drain(client: ServiceBusClient, queue: str, expected: int, **kwargs: object) -> list[str]:
    """Receive and complete until ``expected`` messages arrived (or the wait runs out)."""
    bodies: list[str] = []
    with client.get_queue_receiver(queue, **kwargs) as receiver:  # type: ignore[arg-type]
        while len(bodies) < expected:
            batch = receiver.receive_messages(max_message_count=expected - len(bodies), max_wait_time=5)
            if not batch:
                break
            for message in batch:
                bodies.append(str(message))
                if receiver._receive_mode == ServiceBusReceiveMode.PEEK_LOCK:
                    receiver.complete_message(message)
    return bodies


def test_single_message_round_trip_keeps_properties(client: ServiceBusClient) -> None:
    with client.get_queue_sender("basic") as sender:
        sender.send_messages(ServiceBusMessage(
            "hello", message_id="m-1", subject="greeting", correlation_id="c-1", content_type="text/plain",
            reply_to="replies", to="someone", application_properties={"color": "red", "n": 7}))
    with client.get_queue_receiver("basic", max_wait_time=5) as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert str(message) == "hello"
        assert (message.message_id, message.subject, message.correlation_id) == ("m-1", "greeting", "c-1")
        assert (message.content_type, message.reply_to, message.to) == ("text/plain", "replies", "someone")
        assert message.application_properties == {b"color": b"red", b"n": 7}
        assert message.delivery_count == 0
        assert message.sequence_number >= 1
        assert message.lock_token is not None and message.locked_until_utc is not None
        assert message.enqueued_time_utc is not None
        receiver.complete_message(message)
        assert receiver.receive_messages(max_wait_time=1) == []


def test_list_and_batch_sends_arrive_in_order(client: ServiceBusClient) -> None:
    with client.get_queue_sender("batch") as sender:
        sender.send_messages([ServiceBusMessage(f"list-{i}") for i in range(3)])
        batch = sender.create_message_batch()
        for i in range(5):
            batch.add_message(ServiceBusMessage(f"batch-{i}", application_properties={"i": i}))
        sender.send_messages(batch)
    bodies = drain(client, "batch", 8)
    assert bodies == [f"list-{i}" for i in range(3)] + [f"batch-{i}" for i in range(5)]


def test_receive_and_delete_removes_on_delivery(client: ServiceBusClient) -> None:
    with client.get_queue_sender("rad") as sender:
        sender.send_messages([ServiceBusMessage("a"), ServiceBusMessage("b")])
    assert drain(client, "rad", 2, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) == ["a", "b"]
    with client.get_queue_receiver("rad") as receiver:
        assert receiver.peek_messages(max_message_count=10) == []


def test_prefetch_receiver_gets_everything(client: ServiceBusClient) -> None:
    with client.get_queue_sender("prefetch") as sender:
        sender.send_messages([ServiceBusMessage(f"p{i}") for i in range(20)])
    assert drain(client, "prefetch", 20, prefetch_count=10) == [f"p{i}" for i in range(20)]


def test_receive_iterator_stops_after_max_wait(client: ServiceBusClient) -> None:
    with client.get_queue_sender("iter") as sender:
        sender.send_messages([ServiceBusMessage(f"it{i}") for i in range(4)])
    seen = []
    with client.get_queue_receiver("iter", max_wait_time=2) as receiver:
        for message in receiver:
            seen.append(str(message))
            receiver.complete_message(message)
    assert seen == [f"it{i}" for i in range(4)]


def test_several_clients_at_once(broker: Broker) -> None:
    errors: list[BaseException] = []

    def send(worker: int) -> None:
        try:
            with ServiceBusClient.from_connection_string(broker.connection_string) as sb, \
                    sb.get_queue_sender("multi") as sender:
                sender.send_messages([ServiceBusMessage(f"w{worker}-{i}") for i in range(5)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with ServiceBusClient.from_connection_string(broker.connection_string) as sb:
        bodies = drain(sb, "multi", 20)
    assert sorted(bodies) == sorted(f"w{w}-{i}" for w in range(4) for i in range(5))
