"""Running out of descriptors never kills the broker, and sockets that never open AMQP are closed.

Each test runs its own broker: one with its open-file limit lowered to 64 (prlimit on the running
process), both with the handshake timeout scaled down from its 30 s default.
"""
from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

from azure.servicebus import ServiceBusClient, ServiceBusMessage

from tests.contract.servicebus.raw_client import open_connection
from tests.contract.servicebus.topology import CONFIG
from tests.support.servicebus import Broker, run_broker

HANDSHAKE_TIMEOUT = 1.0


def closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    """Wait until the broker closes ``sock`` (EOF or reset) or the deadline passes."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def round_trip(broker: Broker) -> None:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_queue_sender("basic") as sender:
            sender.send_messages(ServiceBusMessage("served"))
        with client.get_queue_receiver("basic") as receiver:
            [message] = receiver.receive_messages(max_wait_time=5)
            receiver.complete_message(message)


def test_descriptor_exhaustion_backs_off_and_the_broker_keeps_serving(tmp_path: Path) -> None:
    with run_broker(tmp_path, CONFIG, extra_args=["--handshake-timeout", str(HANDSHAKE_TIMEOUT)]) as broker:
        assert broker.process.proc is not None
        resource.prlimit(broker.process.proc.pid, resource.RLIMIT_NOFILE, (64, 64))
        idle = [socket.create_connection(("127.0.0.1", broker.port)) for _ in range(70)]
        try:
            deadline = time.monotonic() + 10
            while "Too many open files" not in broker.process.log_path.read_text() and time.monotonic() < deadline:
                assert broker.process.proc.poll() is None, broker.process.log_tail()
                time.sleep(0.05)
            assert "Too many open files" in broker.process.log_path.read_text(), "the limit was never reached"
            deadline = time.monotonic() + HANDSHAKE_TIMEOUT + 15
            assert all(closed_by_peer(sock, deadline) for sock in idle), "idle sockets were left open"
        finally:
            for sock in idle:
                sock.close()
        assert broker.process.proc.poll() is None, broker.process.log_tail()
        round_trip(broker)


def test_a_socket_that_never_sends_the_protocol_header_is_closed(tmp_path: Path) -> None:
    with run_broker(tmp_path, CONFIG, extra_args=["--handshake-timeout", str(HANDSHAKE_TIMEOUT)]) as broker:
        # Timed from before the connects: the broker's clock for each socket starts at its accept, and the
        # handshaking client below may take longer than the timeout itself on a busy machine.
        started = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", broker.port))
        slow = socket.create_connection(("127.0.0.1", broker.port))
        slow.sendall(b"AMQP")  # half a protocol header, then nothing
        opened = open_connection(broker)  # a client that completes the handshake is not affected
        try:
            deadline = started + HANDSHAKE_TIMEOUT + 10
            assert closed_by_peer(silent, deadline)
            assert closed_by_peer(slow, deadline)
            assert time.monotonic() - started >= HANDSHAKE_TIMEOUT * 0.9
            opened.create_sender("$cbs")  # still open, past the handshake timeout
        finally:
            silent.close()
            slow.close()
            opened.close()
        round_trip(broker)
