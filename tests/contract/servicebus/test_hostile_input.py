"""Hostile input over a real socket gets the protocol's own, bounded answer and the broker keeps serving.

Inputs the SDK never produces (unfinished multi-frame transfers, tokens with odd fields, 3,000-deep
maps) are sent with proton's client; afterwards the real SDK must still be served.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

from azure.servicebus import ServiceBusClient, ServiceBusMessage
from proton import Delivery, Endpoint, Link, Message
from proton.utils import BlockingConnection, LinkDetached

from tests.contract.servicebus.raw_client import connect, open_connection, put_token_request, send_raw
from tests.contract.servicebus.raw_frames import StubbornSender
from tests.support.servicebus import Broker

MB = 1024 * 1024


def rss_mb(broker: Broker) -> float:
    assert broker.process.proc is not None
    for line in Path(f"/proc/{broker.process.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def tracebacks(broker: Broker) -> int:
    return broker.process.log_path.read_text(errors="replace").count("Traceback")


def stream_until_detached(conn: BlockingConnection, address: str, megabytes: int) -> Link:
    """Write up to ``megabytes`` MB into one transfer that never ends (more=true) until detached."""
    link = conn.create_sender(address, name=f"stream-{uuid.uuid4()}").link
    link.delivery(uuid.uuid4().bytes)
    chunk = b"x" * MB
    for _ in range(megabytes):
        link.send(chunk)
        try:  # let the broker drain our side before queuing more, so it really receives it all
            conn.wait(lambda: link.session.outgoing_bytes == 0, timeout=10)
        except LinkDetached:
            return link
    return link


def assert_serves(broker: Broker, queue: str = "hostile") -> None:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage("still serving"))
        with client.get_queue_receiver(queue) as receiver:
            [message] = receiver.receive_messages(max_wait_time=5)
            assert str(message) == "still serving"
            receiver.complete_message(message)


def test_unauthenticated_unfinished_transfer_on_cbs_is_cut_at_64_kb(broker: Broker) -> None:
    logged, before = tracebacks(broker), rss_mb(broker)
    conn = open_connection(broker)  # SASL ANONYMOUS, no token
    try:
        link = stream_until_detached(conn, "$cbs", 60)
        assert link.remote_condition is not None
        assert link.remote_condition.name == "amqp:link:message-size-exceeded"
        assert "65536" in link.remote_condition.description
    finally:
        conn.close()
    stubborn = StubbornSender(broker.port, "$cbs")  # one that keeps writing after the detach
    try:
        stubborn.write(200)
        assert b"amqp:link:message-size-exceeded" in stubborn.received
    finally:
        stubborn.close()
    assert rss_mb(broker) - before < 20, "the broker buffered what it had refused"
    assert_serves(broker)
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_authenticated_unfinished_transfer_is_cut_at_the_advertised_max_message_size(broker: Broker) -> None:
    logged, before = tracebacks(broker), rss_mb(broker)
    conn = connect(broker)
    try:
        sender = conn.create_sender("hostile")
        advertised = sender.link.remote_max_message_size
        assert advertised == 256 * 1024 + 4096
        link = stream_until_detached(conn, "hostile", 60)
        assert link.remote_condition is not None
        assert link.remote_condition.name == "amqp:link:message-size-exceeded"
        # The connection and its other links carry on (only the offending link is detached).
        sender.send(Message(id="after-oversize", body="ok"))
    finally:
        conn.close()
    assert rss_mb(broker) - before < 20
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("hostile") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert message.message_id == "after-oversize"
        receiver.complete_message(message)
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_many_links_each_under_the_limit_exhaust_the_connection_budget(broker: Broker) -> None:
    """Unfinished transfers on one connection are bounded in total, not only per link."""
    before = rss_mb(broker)
    conn = open_connection(broker)
    try:
        links = [conn.create_sender("$cbs", name=f"cbs-{i}").link for i in range(3)]
        for link in links:  # 3 x 40 KB: each under the $cbs limit, together over the connection's
            link.delivery(uuid.uuid4().bytes)
            link.send(b"x" * 40 * 1024)
        deadline = time.monotonic() + 10
        while not conn.conn.state & Endpoint.REMOTE_CLOSED and time.monotonic() < deadline:
            try:
                conn.wait(lambda: bool(conn.conn.state & Endpoint.REMOTE_CLOSED), timeout=1)
            except Exception:
                break
        condition = conn.conn.remote_condition
        assert condition is not None and condition.name == "amqp:resource-limit-exceeded"
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    assert rss_mb(broker) - before < 20
    assert_serves(broker)


def test_put_token_with_odd_sig_or_huge_expiry_gets_401_and_cbs_stays_open(broker: Broker) -> None:
    logged = tracebacks(broker)
    uri = f"sb://127.0.0.1:{broker.port}/"
    odd_tokens = [
        f"SharedAccessSignature sr={uri}&sig=\u00e9t\u00e9\u2603&se={int(time.time()) + 600}"
        "&skn=RootManageSharedAccessKey",
        f"SharedAccessSignature sr={uri}&sig=abc&se={'9' * 400}&skn=RootManageSharedAccessKey",
        f"SharedAccessSignature sr={uri}&sig=abc&se=-5&skn=RootManageSharedAccessKey",
    ]
    conn = open_connection(broker)
    try:
        requests = conn.create_sender("$cbs")
        replies = conn.create_receiver("$cbs", name="cbs-replies")
        for token in odd_tokens:
            requests.send(put_token_request(broker, token=token))
            reply = replies.receive(10)
            assert reply.properties["status-code"] == 401, token
            assert not requests.link.state & Endpoint.REMOTE_CLOSED
        requests.send(put_token_request(broker))
        assert replies.receive(10).properties["status-code"] == 202
    finally:
        conn.close()
    assert tracebacks(broker) == logged, broker.process.log_tail()


def nested_map(depth: int) -> bytes:
    """application-properties {"k": {"k": ... null}} nested ``depth`` maps deep, hand-encoded (map32)."""
    value = b"\x40"
    for _ in range(depth):
        body = b"\xa1\x01k" + value
        value = b"\xd1" + (len(body) + 4).to_bytes(4, "big") + (2).to_bytes(4, "big") + body
    return value


def test_deeply_nested_application_properties_are_a_decode_error_and_the_link_stays_usable(
        broker: Broker) -> None:
    # AMQP 1.0 part 3, 3.2.5: application-properties values are restricted to simple types; a
    # message breaking that is refused with the `rejected` outcome (part 3, 3.4.2) carrying
    # amqp:decode-error. Azure documents only that a malformed message is refused; it does not close
    # the link for one bad message, so the same link must take the next message.
    logged = tracebacks(broker)
    conn = connect(broker)
    try:
        sender = conn.create_sender("hostile")
        payload = b"\x00\x53\x74" + nested_map(3000) + b"\x00\x53\x77\x40"
        delivery = send_raw(conn, sender, payload)
        assert delivery.remote_state == Delivery.REJECTED
        assert delivery.remote.condition is not None and delivery.remote.condition.name == "amqp:decode-error"
        assert not sender.link.state & Endpoint.REMOTE_CLOSED
        sender.send(Message(id="after-deep", body="ok"))
    finally:
        conn.close()
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("hostile") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert message.message_id == "after-deep"
        receiver.complete_message(message)
    assert tracebacks(broker) == logged, broker.process.log_tail()


def test_deeply_nested_management_request_gets_400(broker: Broker) -> None:
    logged = tracebacks(broker)
    conn = connect(broker)
    try:
        requests = conn.create_sender("hostile/$management")
        replies = conn.create_receiver("hostile/$management", name="mgmt-replies")
        send_raw(conn, requests, b"\x00\x53\x74" + nested_map(3000))
        reply = replies.receive(10)
        assert reply.properties["statusCode"] == 400
        assert not requests.link.state & Endpoint.REMOTE_CLOSED
    finally:
        conn.close()
    assert tracebacks(broker) == logged, broker.process.log_tail()
