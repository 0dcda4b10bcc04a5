"""The host's SDK receiver adapter against the devstack broker: how often a waiting receive reads its connection.

An idle receiver reads seldom (receivers.QUIET_READ_SECONDS); one with work in flight reads in the SDK's usual
rhythm, so the replies lock renewals and settlements wait for are not held up. The adapter sets the pyamqp
client's private read timeout: the first test fails if an SDK upgrade renames it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from devstack.functions_host.servicebus.receivers import (
    BUSY_READ_SECONDS,
    QUIET_READ_SECONDS,
    EntityAddress,
    SdkReceiverFactory,
)
from tests.support.servicebus import Broker, run_broker

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [
    {"Name": "plain", "Properties": {"LockDuration": "PT30S"}},
    {"Name": "sessions", "Properties": {"RequiresSession": True, "LockDuration": "PT30S"}},
], "Topics": []}], "Logging": {"Type": "File"}}}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with run_broker(tmp_path_factory.mktemp("broker"), CONFIG) as running:
        yield running


def send(broker: Broker, queue: str, message: ServiceBusMessage) -> None:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_sender(queue) as sender:
        sender.send_messages(message)


def test_a_quiet_receive_reads_seldom_and_a_busy_one_in_the_sdk_rhythm(broker: Broker) -> None:
    send(broker, "plain", ServiceBusMessage("one"))

    async def scenario() -> tuple[tuple[float, float], float, float, list[str]]:
        factory = SdkReceiverFactory(broker.connection_string, EntityAddress(queue="plain"), prefetch_count=0)
        try:
            receiver = await factory.open()
            # Before the adapter sets anything: the SDK itself holds its read timeout in these attributes (were
            # they renamed, the adapter's assignments would go unread and only this would notice).
            handler = receiver._receiver._handler
            sdk_default = (handler._socket_timeout, handler._connection._socket_timeout)
            got = await receiver.receive(1, 5.0, quiet=True)
            quiet = receiver._receiver._handler._socket_timeout
            assert await receiver.receive(1, 0.3, quiet=False) == []
            busy = receiver._receiver._handler._socket_timeout
            for message in got:
                await receiver.complete(message)
            return sdk_default, quiet, busy, [str(message) for message in got]
        finally:
            await factory.close()

    sdk_default, quiet, busy, bodies = asyncio.run(scenario())
    assert bodies == ["one"]
    assert sdk_default == (BUSY_READ_SECONDS, BUSY_READ_SECONDS)
    assert (quiet, busy) == (QUIET_READ_SECONDS, BUSY_READ_SECONDS)


def test_an_accept_waits_quietly_and_the_held_session_reads_in_the_sdk_rhythm(broker: Broker) -> None:
    send(broker, "sessions", ServiceBusMessage("in a session", session_id="s-1"))

    async def scenario() -> tuple[float, float, float, list[str]]:
        factory = SdkReceiverFactory(broker.connection_string, EntityAddress(queue="sessions"), prefetch_count=0)
        try:
            receiver = await factory.accept_session(5.0)
            assert receiver is not None and receiver.session_id == "s-1"
            handler = receiver._receiver._handler
            accepted_with = handler._socket_timeout
            got = await receiver.receive(1, 5.0)
            for message in got:
                await receiver.complete(message)
            await receiver.renew_session_lock()  # its reply is read in the busy rhythm
            return accepted_with, handler._socket_timeout, handler._connection._socket_timeout, \
                [str(message) for message in got]
        finally:
            await factory.close()

    accepted_with, reads, connection_reads, bodies = asyncio.run(scenario())
    assert bodies == ["in a session"]
    assert accepted_with == QUIET_READ_SECONDS
    assert (reads, connection_reads) == (BUSY_READ_SECONDS, BUSY_READ_SECONDS)
