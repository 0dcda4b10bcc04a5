"""Scheduled messages and cancellation, peek across states, list sessions."""
from __future__ import annotations

import datetime as dt
import time

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusMessageState


def utc_in(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def test_scheduled_message_appears_at_its_time_and_cancel_removes_one(client: ServiceBusClient) -> None:
    with client.get_queue_sender("scheduled") as sender:
        kept, cancelled = sender.schedule_messages(
            [ServiceBusMessage("kept"), ServiceBusMessage("cancelled")], utc_in(4))
        sender.cancel_scheduled_messages(cancelled)
        sender.send_messages(ServiceBusMessage("via property", scheduled_enqueue_time_utc=utc_in(4)))
    with client.get_queue_receiver("scheduled") as receiver:
        peeked = receiver.peek_messages(max_message_count=10, sequence_number=1)
        assert (peeked[0].sequence_number, peeked[0].state) == (kept, ServiceBusMessageState.SCHEDULED)
        assert len(peeked) == 2 and all(p.state == ServiceBusMessageState.SCHEDULED for p in peeked)
        assert receiver.receive_messages(max_wait_time=0.5) == []
        received: list[str] = []
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            for message in receiver.receive_messages(max_message_count=2, max_wait_time=1):
                received.append(str(message))
                assert message.scheduled_enqueue_time_utc is not None
                receiver.complete_message(message)
    assert sorted(received) == ["kept", "via property"]


def test_peek_shows_active_and_deferred_without_locking(client: ServiceBusClient) -> None:
    with client.get_queue_sender("peek") as sender:
        sender.send_messages([ServiceBusMessage("one"), ServiceBusMessage("two")])
    with client.get_queue_receiver("peek") as receiver:
        [first] = receiver.receive_messages(max_wait_time=5)
        receiver.defer_message(first)
        peeked = receiver.peek_messages(max_message_count=10, sequence_number=1)
        assert [(str(p), p.state) for p in peeked] == [("one", ServiceBusMessageState.DEFERRED),
                                                       ("two", ServiceBusMessageState.ACTIVE)]
        assert peeked[0].lock_token is None
        [second] = receiver.receive_messages(max_wait_time=5)
        assert str(second) == "two"
        receiver.complete_message(second)
        [deferred] = receiver.receive_deferred_messages([first.sequence_number])
        receiver.complete_message(deferred)


def test_list_sessions_names_sessions_with_messages_or_state(client: ServiceBusClient) -> None:
    assert list(client.list_queue_sessions("list-sessions")) == []
    with client.get_queue_sender("list-sessions") as sender:
        sender.send_messages([ServiceBusMessage("1", session_id="alpha"), ServiceBusMessage("2", session_id="beta")])
    assert sorted(client.list_queue_sessions("list-sessions")) == ["alpha", "beta"]
    with client.get_queue_receiver("list-sessions", session_id="alpha") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)
        receiver.session.set_state(b"kept")
    with client.get_queue_receiver("list-sessions", session_id="beta") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)
    assert list(client.list_queue_sessions("list-sessions")) == ["alpha"]


def test_scheduled_message_to_a_session_queue_joins_its_session(client: ServiceBusClient) -> None:
    with client.get_queue_sender("scheduled-sessions") as sender:
        sender.send_messages(ServiceBusMessage("now", session_id="k"))
        [seq] = sender.schedule_messages(ServiceBusMessage("deadline", session_id="k"), utc_in(2))
    with client.get_queue_receiver("scheduled-sessions", session_id="k") as receiver:
        [_, peeked_later] = receiver.peek_messages(max_message_count=5, sequence_number=1)
        assert (peeked_later.sequence_number, peeked_later.state) == (seq, ServiceBusMessageState.SCHEDULED)
        received: list[str] = []
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            for message in receiver.receive_messages(max_message_count=2, max_wait_time=1):
                assert message.session_id == "k"
                received.append(str(message))
                receiver.complete_message(message)
    assert received == ["now", "deadline"]


def test_scheduled_message_to_a_forwarding_queue_can_be_cancelled_and_is_forwarded_when_due(
        client: ServiceBusClient) -> None:
    with client.get_queue_sender("scheduled-forwarding") as sender:
        kept = sender.schedule_messages(ServiceBusMessage("kept"), utc_in(2))
        cancelled = sender.schedule_messages(ServiceBusMessage("cancelled"), utc_in(2))
        sender.cancel_scheduled_messages(cancelled)
    with client.get_queue_receiver("scheduled-forwarding") as source:
        [waiting] = source.peek_messages(max_message_count=5, sequence_number=1)
        assert [waiting.sequence_number, waiting.state] == [kept[0], ServiceBusMessageState.SCHEDULED]
    with client.get_queue_receiver("scheduled-forward-target") as receiver:
        received: list[str] = []
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            for message in receiver.receive_messages(max_message_count=2, max_wait_time=1):
                received.append(str(message))
                receiver.complete_message(message)
        assert received == ["kept"]
        assert receiver.receive_messages(max_wait_time=1) == []
