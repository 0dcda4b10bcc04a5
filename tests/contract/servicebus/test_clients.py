"""Async clients, and clients that vanish: their locks and sessions go back to others at once."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusClient, ServiceBusMessage
from azure.servicebus.aio import ServiceBusClient as AsyncServiceBusClient

from tests.support.processes import REPO_ROOT
from tests.support.servicebus import Broker

HOLDER = """
import sys, time
from azure.servicebus import ServiceBusClient
conn, queue, session = sys.argv[1], sys.argv[2], sys.argv[3] or None
client = ServiceBusClient.from_connection_string(conn)
receiver = client.get_queue_receiver(queue, session_id=session)
[message] = receiver.receive_messages(max_wait_time=10)
print("holding", str(message), flush=True)
time.sleep(60)
"""


def hold_then_die(broker: Broker, queue: str, session: str = "") -> None:
    """A separate client process takes a lock, then is SIGKILLed without settling or closing."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, broker.connection_string, queue, session],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("holding")
    finally:
        proc.kill()
        proc.wait(10)


def test_vanished_client_releases_its_message_lock(broker: Broker, client: ServiceBusClient) -> None:
    with client.get_queue_sender("disconnect") as sender:
        sender.send_messages(ServiceBusMessage("orphan"))
    hold_then_die(broker, "disconnect")
    started = time.monotonic()
    with client.get_queue_receiver("disconnect") as receiver:
        [message] = receiver.receive_messages(max_wait_time=10)
        # Well before the 5 s lock would have expired.
        assert time.monotonic() - started < 4
        assert str(message) == "orphan"
        receiver.complete_message(message)


def test_vanished_session_receiver_releases_the_session(broker: Broker, client: ServiceBusClient) -> None:
    with client.get_queue_sender("disconnect-session") as sender:
        sender.send_messages([ServiceBusMessage("s1", session_id="held"), ServiceBusMessage("s2", session_id="held")])
    hold_then_die(broker, "disconnect-session", "held")
    with client.get_queue_receiver("disconnect-session", session_id=NEXT_AVAILABLE_SESSION,
                                   max_wait_time=4) as receiver:
        assert receiver.session.session_id == "held"
        messages = receiver.receive_messages(max_message_count=2, max_wait_time=5)
        assert [str(m) for m in messages] == ["s1", "s2"]
        for message in messages:
            receiver.complete_message(message)


def test_async_client_sends_receives_and_uses_sessions(broker: Broker) -> None:
    async def scenario() -> tuple[list[str], str | None, bytes | None]:
        async with AsyncServiceBusClient.from_connection_string(broker.connection_string) as sb:
            async with sb.get_queue_sender("aio") as sender:
                await sender.send_messages([ServiceBusMessage("a1"), ServiceBusMessage("a2")])
            got = []
            async with sb.get_queue_receiver("aio") as receiver:
                while len(got) < 2:
                    for message in await receiver.receive_messages(max_message_count=2, max_wait_time=5):
                        got.append(str(message))
                        await receiver.complete_message(message)
            async with sb.get_queue_sender("aio-sessions") as sender:
                await sender.send_messages(ServiceBusMessage("async session", session_id="aio-s"))
            async with sb.get_queue_receiver("aio-sessions", session_id=NEXT_AVAILABLE_SESSION,
                                             max_wait_time=5) as receiver:
                session_id = receiver.session.session_id
                await receiver.session.set_state(b"async-state")
                state = await receiver.session.get_state()
                [message] = await receiver.receive_messages(max_wait_time=5)
                await receiver.complete_message(message)
            return got, session_id, state

    got, session_id, state = asyncio.run(scenario())
    assert got == ["a1", "a2"]
    assert (session_id, state) == ("aio-s", b"async-state")
