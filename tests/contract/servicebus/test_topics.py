"""Topics: correlation and SQL filters, per-subscription sequence numbers, forwarding, duplicate detection."""
from __future__ import annotations

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue


def drain_subscription(client: ServiceBusClient, topic: str, name: str, expected: int) -> list[ServiceBusMessage]:
    """Receive and complete ``expected`` messages, then check nothing else is left."""
    got = []
    with client.get_subscription_receiver(topic, name) as receiver:
        while len(got) < expected:
            batch = receiver.receive_messages(max_message_count=expected - len(got), max_wait_time=5)
            assert batch, f"{topic}/{name}: got {len(got)} of {expected}"
            for message in batch:
                got.append(message)
                receiver.complete_message(message)
        assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []
    return got


def test_filters_route_copies_with_their_own_sequence_numbers(client: ServiceBusClient) -> None:
    with client.get_topic_sender("orders") as sender:
        sender.send_messages([
            ServiceBusMessage("red", application_properties={"color": "red"}),
            ServiceBusMessage("requested", subject="DeliveryRequested", content_type="application/json"),
            ServiceBusMessage("wrong type", subject="DeliveryRequested", content_type="text/plain"),
            ServiceBusMessage("big order", subject="order", application_properties={"amount": 250}),
            ServiceBusMessage("small order", subject="order", application_properties={"amount": 5}),
            ServiceBusMessage("green", application_properties={"color": "green"}),
            ServiceBusMessage("blue", application_properties={"color": "blue"}),
        ])
    everything = drain_subscription(client, "orders", "all", 7)
    assert [str(m) for m in everything] == ["red", "requested", "wrong type", "big order", "small order",
                                            "green", "blue"]
    assert [m.sequence_number for m in everything] == list(range(1, 8))
    red = drain_subscription(client, "orders", "red", 1)
    assert [(str(m), m.sequence_number) for m in red] == [("red", 1)]
    assert [str(m) for m in drain_subscription(client, "orders", "labelled", 1)] == ["requested"]
    big = drain_subscription(client, "orders", "big", 1)
    assert [(str(m), m.sequence_number) for m in big] == [("big order", 1)]
    assert sorted(str(m) for m in drain_subscription(client, "orders", "either", 2)) == ["blue", "green"]


def test_subscription_forwards_into_session_queue_keeping_session_and_properties(client: ServiceBusClient) -> None:
    with client.get_topic_sender("deliveries") as sender:
        sender.send_messages(ServiceBusMessage("go", subject="DeliveryRequested", session_id="d-1",
                                               message_id="d-1:DeliveryRequested",
                                               application_properties={"traceparent": "00-abc-def-01"}))
    with client.get_queue_receiver("forward-session-target", session_id="d-1") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert (str(message), message.session_id, message.subject) == ("go", "d-1", "DeliveryRequested")
        assert message.application_properties[b"traceparent"] == b"00-abc-def-01"
        receiver.complete_message(message)
    # The other subscription got its own copy.
    [copy] = drain_subscription(client, "deliveries", "package", 1)
    assert copy.message_id == "d-1:DeliveryRequested"


def test_queue_forward_to_and_forward_dead_letters(client: ServiceBusClient) -> None:
    with client.get_queue_sender("forwarding-queue") as sender:
        sender.send_messages(ServiceBusMessage("passed on", application_properties={"k": 1}))
    with client.get_queue_receiver("forward-target") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert (str(message), message.application_properties[b"k"]) == ("passed on", 1)
        receiver.complete_message(message)
    with client.get_queue_sender("dl-forwarding") as sender:
        sender.send_messages(ServiceBusMessage("doomed"))
    with client.get_queue_receiver("dl-forwarding") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.dead_letter_message(message, reason="Broken", error_description="cannot parse")
    with client.get_queue_receiver("dl-target") as receiver:
        [forwarded] = receiver.receive_messages(max_wait_time=5)
        assert str(forwarded) == "doomed"
        assert forwarded.dead_letter_reason == "Broken"
        assert forwarded.dead_letter_source == "dl-forwarding"
        receiver.complete_message(forwarded)
    with client.get_queue_receiver("dl-forwarding", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        assert dlq.peek_messages(max_message_count=5, sequence_number=1) == []


def test_duplicate_message_ids_are_accepted_and_dropped_within_the_window(client: ServiceBusClient) -> None:
    with client.get_queue_sender("dedupe") as sender:
        sender.send_messages(ServiceBusMessage("first", message_id="same"))
        sender.send_messages(ServiceBusMessage("second", message_id="same"))
        sender.send_messages(ServiceBusMessage("other", message_id="different"))
    with client.get_queue_receiver("dedupe") as receiver:
        messages = receiver.receive_messages(max_message_count=5, max_wait_time=2)
        assert [str(m) for m in messages] == ["first", "other"]
        for message in messages:
            receiver.complete_message(message)


def test_dead_letter_queue_of_a_subscription(client: ServiceBusClient) -> None:
    with client.get_topic_sender("deliveries") as sender:
        sender.send_messages(ServiceBusMessage("to fail", subject="Other", message_id="dl-sub-1"))
    with client.get_subscription_receiver("deliveries", "package") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.abandon_message(message)  # MaxDeliveryCount 1
    with client.get_subscription_receiver("deliveries", "package",
                                          sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert (str(dead), dead.dead_letter_reason) == ("to fail", "MaxDeliveryCountExceeded")
        dlq.complete_message(dead)


def test_forwarding_cycle_ends_in_a_dead_letter_queue(client: ServiceBusClient) -> None:
    with client.get_queue_sender("hop-a") as sender:
        sender.send_messages(ServiceBusMessage("round and round"))
    # hop-a -> hop-b -> hop-a -> hop-b -> hop-a is four hops; the fifth is refused (docs: auto-forwarding).
    with client.get_queue_receiver("hop-a", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert (str(dead), dead.dead_letter_reason) == ("round and round", "MaxTransferHopCountExceeded")
        dlq.complete_message(dead)
    for name in ("hop-a", "hop-b"):
        with client.get_queue_receiver(name) as receiver:
            assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []
