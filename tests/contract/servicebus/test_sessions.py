"""Sessions: by id, NEXT_AVAILABLE, exclusive locks, FIFO, state, renew and expiry, DLQ without sessions."""
from __future__ import annotations

import time

import pytest
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue
from azure.servicebus.exceptions import OperationTimeoutError, SessionCannotBeLockedError, SessionLockLostError

from tests.support.servicebus import Broker


def send(client: ServiceBusClient, queue: str, *messages: ServiceBusMessage) -> None:
    with client.get_queue_sender(queue) as sender:
        sender.send_messages(list(messages))


def test_receive_by_session_id_gets_only_that_session(client: ServiceBusClient) -> None:
    send(client, "sessions", ServiceBusMessage("a1", session_id="a"), ServiceBusMessage("b1", session_id="b"),
         ServiceBusMessage("a2", session_id="a"))
    with client.get_queue_receiver("sessions", session_id="a") as receiver:
        messages = receiver.receive_messages(max_message_count=5, max_wait_time=2)
        assert [str(m) for m in messages] == ["a1", "a2"]
        assert {m.session_id for m in messages} == {"a"}
        assert receiver.session.session_id == "a"
        assert receiver.session.locked_until_utc is not None
        for message in messages:
            receiver.complete_message(message)
    with client.get_queue_receiver("sessions", session_id="b") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)


def test_next_available_picks_a_session_with_messages_then_times_out(broker: Broker, client: ServiceBusClient) -> None:
    send(client, "session-next", ServiceBusMessage("x", session_id="only"))
    with client.get_queue_receiver("session-next", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5) as receiver:
        assert receiver.session.session_id == "only"
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)
    # The refusal (attach with a null source, then detach com.microsoft:timeout) fails the open
    # itself, which the SDK retries retry_total times with back-off; without retries it is prompt.
    started = time.monotonic()
    with ServiceBusClient.from_connection_string(broker.connection_string, retry_total=0) as impatient:
        with pytest.raises(OperationTimeoutError):
            with impatient.get_queue_receiver("session-next", session_id=NEXT_AVAILABLE_SESSION,
                                              max_wait_time=1) as r:
                r.receive_messages(max_wait_time=1)
    assert time.monotonic() - started < 5


def test_session_lock_is_exclusive_across_receivers(broker: Broker, client: ServiceBusClient) -> None:
    send(client, "session-exclusive", ServiceBusMessage("mine", session_id="s"))
    with client.get_queue_receiver("session-exclusive", session_id="s") as holder:
        [message] = holder.receive_messages(max_wait_time=5)
        # No retries: the SDK's back-off would outlast the holder's 5 s session lock.
        with ServiceBusClient.from_connection_string(broker.connection_string, retry_total=0) as impatient:
            with pytest.raises(SessionCannotBeLockedError):
                with impatient.get_queue_receiver("session-exclusive", session_id="s") as other:
                    other.receive_messages(max_wait_time=1)
        # Messages arriving later still go to the holder of the session.
        send(client, "session-exclusive", ServiceBusMessage("later", session_id="s"))
        [later] = holder.receive_messages(max_wait_time=5)
        assert str(later) == "later"
        holder.complete_message(message)
        holder.complete_message(later)


def test_fifo_within_a_session(client: ServiceBusClient) -> None:
    send(client, "session-fifo", *[ServiceBusMessage(f"m{i}", session_id="order") for i in range(10)])
    received = []
    with client.get_queue_receiver("session-fifo", session_id="order") as receiver:
        while len(received) < 10:
            batch = receiver.receive_messages(max_message_count=10, max_wait_time=5)
            assert batch
            for message in batch:
                received.append(str(message))
                receiver.complete_message(message)
    assert received == [f"m{i}" for i in range(10)]


def test_session_state_and_lock_renewal(client: ServiceBusClient) -> None:
    send(client, "session-state", ServiceBusMessage("s", session_id="st"))
    with client.get_queue_receiver("session-state", session_id="st") as receiver:
        assert receiver.session.get_state() is None
        receiver.session.set_state(b"step-2")
        assert receiver.session.get_state() == b"step-2"
        before = receiver.session.locked_until_utc
        time.sleep(0.05)
        receiver.session.renew_lock()
        assert receiver.session.locked_until_utc > before
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)
    with client.get_queue_receiver("session-state", session_id="st") as receiver:
        assert receiver.session.get_state() == b"step-2"
        receiver.session.set_state(None)
        assert receiver.session.get_state() is None


def test_session_lock_expiry_releases_the_session(client: ServiceBusClient) -> None:
    send(client, "session-expiry", ServiceBusMessage("e", session_id="exp"))
    with client.get_queue_receiver("session-expiry", session_id="exp") as receiver:
        [_message] = receiver.receive_messages(max_wait_time=5)
        time.sleep(1.5)  # the session lock lasts 1 s
        with pytest.raises(SessionLockLostError):
            receiver.session.renew_lock()
    with client.get_queue_receiver("session-expiry", session_id="exp") as receiver:
        [again] = receiver.receive_messages(max_wait_time=5)
        assert str(again) == "e" and again.delivery_count == 1
        receiver.complete_message(again)


def test_dead_letter_queue_of_session_queue_is_read_without_sessions(client: ServiceBusClient) -> None:
    send(client, "session-dlq", ServiceBusMessage("bad", session_id="d"))
    with client.get_queue_receiver("session-dlq", session_id="d") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.abandon_message(message)  # MaxDeliveryCount 1: dead-lettered now
    with client.get_queue_receiver("session-dlq", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        [dead] = dlq.receive_messages(max_wait_time=5)
        assert (str(dead), dead.session_id, dead.dead_letter_reason) == ("bad", "d", "MaxDeliveryCountExceeded")
        dlq.complete_message(dead)
