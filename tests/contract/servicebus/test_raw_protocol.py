"""Inputs only a hand-driven AMQP client produces: malformed fields, sessions ended under their links."""
from __future__ import annotations

import time

from azure.servicebus import ServiceBusClient, ServiceBusMessage
from proton import Delivery, Endpoint, Message

from tests.contract.servicebus.raw_client import connect, open_connection, put_token_request, send_raw
from tests.support.servicebus import Broker

VALUE_NULL = b"\x00\x53\x77\x40"  # an amqp-value body holding null
MALFORMED = {
    "header is not a list": b"\x00\x53\x70\x55\x05" + VALUE_NULL,
    "properties is a map": b"\x00\x53\x73\xc1\x01\x00" + VALUE_NULL,
    "annotations is a list": b"\x00\x53\x72\x45" + VALUE_NULL,
    "scheduled time is a string":
        b"\x00\x53\x72\xc1\x22\x02\xa3\x1cx-opt-scheduled-enqueue-time\xa1\x01x" + VALUE_NULL,
    "ttl is a string": b"\x00\x53\x70\xc0\x06\x03\x40\x40\xa1\x01x" + VALUE_NULL,
    "ttl is negative": b"\x00\x53\x70\xc0\x05\x03\x40\x40\x55\xff" + VALUE_NULL,
    "garbage inside a section": b"\x00\x53\x73\xc0\x05\x02\xff\xff\xff\xff",
    "application properties is a list": b"\x00\x53\x74\x45" + VALUE_NULL,
}


def tracebacks(broker: Broker) -> int:
    return broker.process.log_path.read_text(errors="replace").count("Traceback")


def test_malformed_fields_are_rejected_and_the_link_stays_usable(broker: Broker, client: ServiceBusClient) -> None:
    logged = tracebacks(broker)
    conn = connect(broker)
    try:
        sender = conn.create_sender("malformed")
        for name, payload in MALFORMED.items():
            delivery = send_raw(conn, sender, payload)
            assert delivery.remote_state == Delivery.REJECTED, name
            assert delivery.remote.condition is not None and delivery.remote.condition.name == "amqp:decode-error", name
            assert not sender.link.state & Endpoint.REMOTE_CLOSED, name
        sender.send(Message(id="well-formed", body="ok"))
    finally:
        conn.close()
    with client.get_queue_receiver("malformed") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert message.message_id == "well-formed"
        receiver.complete_message(message)
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_malformed_management_request_gets_400_and_the_link_stays_open(broker: Broker) -> None:
    logged = tracebacks(broker)
    conn = connect(broker)
    try:
        requests = conn.create_sender("malformed/$management")
        replies = conn.create_receiver("malformed/$management", name="mgmt-replies")
        for payload in (b"\x45", b"\x00\x53\x74\xff", b"\x00\x53\x73\xc1\x01\x00"):
            send_raw(conn, requests, payload)
            reply = replies.receive(10)
            assert reply.properties["statusCode"] == 400
            assert reply.properties["errorCondition"] == "com.microsoft:argument-error"
            assert not requests.link.state & Endpoint.REMOTE_CLOSED
    finally:
        conn.close()
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_malformed_put_token_is_refused_and_the_cbs_link_stays_open(broker: Broker) -> None:
    logged = tracebacks(broker)
    conn = open_connection(broker)
    try:
        requests = conn.create_sender("$cbs")
        replies = conn.create_receiver("$cbs", name="cbs-replies")
        send_raw(conn, requests, b"\x00\x53\x73\xff")
        assert replies.receive(10).properties["status-code"] == 401
        requests.send(put_token_request(broker))
        assert replies.receive(10).properties["status-code"] == 202
    finally:
        conn.close()
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_ending_a_session_detaches_its_receivers(broker: Broker, client: ServiceBusClient) -> None:
    conn = connect(broker)
    try:
        orphan = conn.create_receiver("ended-session", name="orphan", credit=10)
        orphan.link.session.close()  # end the AMQP session without detaching the link first
        conn.wait(lambda: bool(orphan.link.session.state & Endpoint.REMOTE_CLOSED), timeout=10)
        with client.get_queue_sender("ended-session") as sender:
            sender.send_messages([ServiceBusMessage(f"m{i}") for i in range(3)])
        started = time.monotonic()
        with client.get_queue_receiver("ended-session") as receiver:
            got: list[tuple[str, int]] = []
            while len(got) < 3 and time.monotonic() - started < 4:  # under the 5 s lock of a lost copy
                for message in receiver.receive_messages(max_message_count=3, max_wait_time=1):
                    got.append((str(message), message.delivery_count))
                    receiver.complete_message(message)
        assert sorted(got) == [("m0", 0), ("m1", 0), ("m2", 0)]
    finally:
        conn.close()
