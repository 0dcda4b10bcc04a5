"""Many $management requests in flight on one link, and the async session-pool pattern.

The broker answers each request on the reply link with correlation-id = the request's message-id
(Service Bus AMQP request-response, learn.microsoft.com/azure/service-bus-messaging/
service-bus-amqp-request-response), in any number and whatever credit the reply link has.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusClient, ServiceBusMessage
from azure.servicebus import AutoLockRenewer as SyncAutoLockRenewer
from azure.servicebus.aio import AutoLockRenewer
from azure.servicebus.aio import ServiceBusClient as AsyncServiceBusClient
from azure.servicebus.exceptions import OperationTimeoutError
from proton import UNDESCRIBED, Array, Data, Message, symbol

from devstack.servicebus.amqp.links import delivery_tag
from tests.contract.servicebus.raw_client import connect
from tests.support.servicebus import Broker


def test_pipelined_renew_lock_requests_are_each_answered_by_correlation_id(broker: Broker) -> None:
    conn = connect(broker)
    try:
        with_messages = conn.create_sender("renew-pipelined")
        for i in range(20):
            with_messages.send(Message(body=f"m{i}"))
        receiver = conn.create_receiver("renew-pipelined", name="locks", credit=20)
        tokens = []
        for _ in range(20):
            receiver.receive(10)  # peek-lock: proton's receiver leaves the delivery unsettled
            tokens.append(uuid.UUID(bytes_le=delivery_tag(receiver.fetcher.unsettled[-1])))  # SDK's reading
        requests = conn.create_sender("renew-pipelined/$management")
        replies = conn.create_receiver("renew-pipelined/$management", name="mgmt-replies", credit=1)
        ids = [f"renew-{i}" for i in range(len(tokens))]
        for message_id, token in zip(ids, tokens, strict=True):  # all sent before any reply is read
            requests.send(Message(id=message_id, reply_to="mgmt-replies",
                                  properties={"operation": "com.microsoft:renew-lock"},
                                  body={symbol("lock-tokens"): Array(UNDESCRIBED, Data.UUID, token)}),
                          timeout=10)
        answered = {}
        for _ in ids:
            reply = replies.receive(10)  # credit 1: every further reply waits broker-side for a flow
            answered[reply.correlation_id] = reply.properties["statusCode"]
        assert sorted(answered) == sorted(ids)
    finally:
        conn.close()


def test_sync_auto_lock_renewer_sample_keeps_ten_prefetched_locks(broker: Broker) -> None:
    """samples/sync_samples/auto_lock_renew.py: 10 prefetched messages renewed by worker threads.

    The SDK's threads send renew requests with the same delivery-id; the broker renumbers them as
    Azure's AMQP stack tolerates them (devstack/servicebus/amqp/sequencing.py) instead of closing
    the connection, which the SDK reported as "Management Operation error occurred".
    """
    failures: list[BaseException | None] = []
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_queue_sender("renew-many-sync") as sender:
            sender.send_messages([ServiceBusMessage(f"m{i}") for i in range(10)])
        renewer = SyncAutoLockRenewer(on_lock_renew_failure=lambda renewable, error: failures.append(error))
        with client.get_queue_receiver("renew-many-sync", prefetch_count=10) as receiver:
            messages = []
            deadline = time.monotonic() + 10
            while len(messages) < 10 and time.monotonic() < deadline:
                messages += receiver.receive_messages(max_message_count=10, max_wait_time=2)
            assert len(messages) == 10
            first = {m.sequence_number: m.locked_until_utc for m in messages}
            for message in messages:
                renewer.register(receiver, message, max_lock_renewal_duration=60)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not failures:
                if datetime.now(UTC) > max(first.values()) and \
                        all(m.locked_until_utc > first[m.sequence_number] for m in messages):
                    break
                time.sleep(0.1)  # polling the renewer's progress, bounded by the deadline
            assert not failures, failures
            assert datetime.now(UTC) > max(first.values()), "locks were not renewed in time"
            for message in messages:
                receiver.complete_message(message)  # would raise MessageLockLostError
        renewer.close()


def test_async_auto_lock_renewer_keeps_many_prefetched_locks(broker: Broker) -> None:
    """AutoLockRenewer renews every prefetched message at once, through one management link."""
    failures: list[BaseException] = []

    async def on_failure(renewable: object, error: BaseException | None) -> None:
        failures.append(error or RuntimeError("renewal failed"))

    async def scenario() -> None:
        async with AsyncServiceBusClient.from_connection_string(broker.connection_string) as client:
            async with client.get_queue_sender("renew-many") as sender:
                await sender.send_messages([ServiceBusMessage(f"m{i}") for i in range(10)])
            renewer = AutoLockRenewer(on_lock_renew_failure=on_failure)
            async with client.get_queue_receiver("renew-many", prefetch_count=10) as receiver:
                messages = []
                deadline = time.monotonic() + 10
                while len(messages) < 10 and time.monotonic() < deadline:
                    messages += await receiver.receive_messages(max_message_count=10, max_wait_time=2)
                assert len(messages) == 10
                first = {m.sequence_number: m.locked_until_utc for m in messages}
                for message in messages:
                    renewer.register(receiver, message, max_lock_renewal_duration=60)
                # The 5 s locks are renewed at 3/4 of their life: wait until each was renewed twice
                # over (past the original expiry), failing early on any renewal error.
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not failures:
                    if all(m.locked_until_utc > first[m.sequence_number] for m in messages) and \
                            datetime.now(UTC) > max(first.values()):
                        break
                    await asyncio.sleep(0.1)
                assert not failures, failures
                assert datetime.now(UTC) > max(first.values()), "locks were not renewed in time"
                for message in messages:
                    await receiver.complete_message(message)  # would raise MessageLockLostError
            await renewer.close()

    asyncio.run(scenario())


def test_async_session_pool_loop_ends_with_operation_timeout(broker: Broker) -> None:
    """The SDK samples' session pool: NEXT_AVAILABLE_SESSION until OperationTimeoutError says none is left."""
    async def scenario() -> list[str]:
        seen: list[str] = []
        async with AsyncServiceBusClient.from_connection_string(broker.connection_string) as client:
            async with client.get_queue_sender("session-pool") as sender:
                await sender.send_messages([ServiceBusMessage(f"{s}", session_id=s) for s in ("a", "b")])
            renewer = AutoLockRenewer()
            while True:
                try:
                    async with client.get_queue_receiver("session-pool", session_id=NEXT_AVAILABLE_SESSION,
                                                         max_wait_time=1) as receiver:
                        renewer.register(receiver, receiver.session)
                        async for message in receiver:
                            seen.append(str(message))
                            await receiver.complete_message(message)
                except OperationTimeoutError:
                    break  # no session left: what tells the pool loop to stop
            await renewer.close()
        return seen

    assert sorted(asyncio.run(scenario())) == ["a", "b"]
