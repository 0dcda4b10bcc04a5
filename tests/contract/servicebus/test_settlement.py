"""complete / abandon / defer / dead-letter, locks (renew, auto-renew, expiry, late settle), max delivery, TTL."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from azure.servicebus import (
    AutoLockRenewer,
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusMessageState,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import MessageLockLostError


def send(client: ServiceBusClient, queue: str, *messages: ServiceBusMessage) -> None:
    with client.get_queue_sender(queue) as sender:
        sender.send_messages(list(messages))


def test_abandon_redelivers_with_growing_delivery_count(client: ServiceBusClient) -> None:
    send(client, "settle", ServiceBusMessage("again"))
    with client.get_queue_receiver("settle") as receiver:
        counts = []
        for _ in range(3):
            [message] = receiver.receive_messages(max_wait_time=5)
            counts.append(message.delivery_count)
            receiver.abandon_message(message)
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)
    assert counts == [0, 1, 2]
    assert message.delivery_count == 3


def test_defer_then_receive_deferred_by_sequence_number(client: ServiceBusClient) -> None:
    send(client, "defer", ServiceBusMessage("later"), ServiceBusMessage("now"))
    with client.get_queue_receiver("defer") as receiver:
        first, second = receiver.receive_messages(max_message_count=2, max_wait_time=5)
        receiver.defer_message(first)
        receiver.complete_message(second)
        assert receiver.receive_messages(max_wait_time=1) == []
        [peeked] = receiver.peek_messages(max_message_count=5, sequence_number=first.sequence_number)
        assert peeked.sequence_number == first.sequence_number
        assert peeked.state == ServiceBusMessageState.DEFERRED
        [deferred] = receiver.receive_deferred_messages([first.sequence_number])
        assert str(deferred) == "later"
        receiver.complete_message(deferred)
        assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []


def test_dead_letter_reason_and_description_visible_in_dlq(client: ServiceBusClient) -> None:
    send(client, "deadletter", ServiceBusMessage("poison", application_properties={"k": "v"}))
    with client.get_queue_receiver("deadletter") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.dead_letter_message(message, reason="InvalidMessage", error_description="field x missing")
    with client.get_queue_receiver("deadletter", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert str(dead) == "poison"
        assert dead.dead_letter_reason == "InvalidMessage"
        assert dead.dead_letter_error_description == "field x missing"
        assert dead.application_properties[b"k"] == b"v"
        dlq.complete_message(dead)


def test_lock_expiry_redelivers_and_late_settle_raises_lock_lost(client: ServiceBusClient) -> None:
    send(client, "late-settle", ServiceBusMessage("slow"))
    with client.get_queue_receiver("late-settle") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        deadline = time.monotonic() + 10
        again = []
        while not again and time.monotonic() < deadline:
            again = receiver.receive_messages(max_wait_time=1)
        assert [m.delivery_count for m in again] == [1]
        with pytest.raises(MessageLockLostError):
            receiver.complete_message(message)
        receiver.complete_message(again[0])


def test_renew_message_lock_extends_it(client: ServiceBusClient) -> None:
    send(client, "renew", ServiceBusMessage("hold"))
    with client.get_queue_receiver("renew") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        first_until = message.locked_until_utc
        for _ in range(4):  # 2 s in all, twice the 1 s lock duration
            time.sleep(0.5)
            receiver.renew_message_lock(message)
        assert message.locked_until_utc > first_until
        assert receiver.receive_messages(max_wait_time=0.5) == []
        receiver.complete_message(message)


def test_auto_lock_renewer_keeps_the_lock(client: ServiceBusClient) -> None:
    send(client, "autorenew", ServiceBusMessage("long job"))
    with AutoLockRenewer(max_lock_renewal_duration=10) as renewer, \
            client.get_queue_receiver("autorenew", auto_lock_renewer=renewer) as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        time.sleep(3)  # the point of the test: outlive the 1 s lock by far
        receiver.complete_message(message)  # MessageLockLostError if the renewer had not kept it
        assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []


def test_max_delivery_count_dead_letters(client: ServiceBusClient) -> None:
    send(client, "max-delivery", ServiceBusMessage("fails twice"))
    with client.get_queue_receiver("max-delivery") as receiver:
        for _ in range(2):
            [message] = receiver.receive_messages(max_wait_time=5)
            receiver.abandon_message(message)
        assert receiver.receive_messages(max_wait_time=1) == []
    with client.get_queue_receiver("max-delivery", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert dead.dead_letter_reason == "MaxDeliveryCountExceeded"
        assert dead.delivery_count == 2
        dlq.complete_message(dead)


def test_expired_message_is_dead_lettered_when_entity_says_so(client: ServiceBusClient) -> None:
    send(client, "ttl-dlq", ServiceBusMessage("stale", time_to_live=timedelta(seconds=1)))
    with client.get_queue_receiver("ttl-dlq", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert str(dead) == "stale"
        assert dead.dead_letter_reason == "TTLExpiredException"
        dlq.complete_message(dead)
    with client.get_queue_receiver("ttl-dlq") as receiver:
        assert receiver.peek_messages(max_message_count=5) == []


def test_entity_default_ttl_drops_expired_messages(client: ServiceBusClient) -> None:
    send(client, "ttl-drop", ServiceBusMessage("gone"))
    with client.get_queue_receiver("ttl-drop") as receiver:
        deadline = time.monotonic() + 10
        while receiver.peek_messages(max_message_count=5) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.peek_messages(max_message_count=5) == []
        assert receiver.receive_messages(max_wait_time=0.5) == []
    with client.get_queue_receiver("ttl-drop", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        assert dlq.peek_messages(max_message_count=5) == []
