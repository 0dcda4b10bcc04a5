"""The broker loses no accepted message to ``kill -9``; after a restart locks are released."""
from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue
from azure.servicebus.exceptions import ServiceBusError

from tests.support.servicebus import run_broker

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
    {"Name": "work", "Properties": {"LockDuration": "PT1M"}},
    {"Name": "flow", "Properties": {"LockDuration": "PT1M", "RequiresSession": True}},
    {"Name": "stream", "Properties": {}},
], "Topics": [{"Name": "events", "Subscriptions": [{"Name": "audit", "Properties": {"LockDuration": "PT1M"}}]}]}]}}


def receive_all(client: ServiceBusClient, queue: str, expected: int, **kwargs: object) -> list[ServiceBusMessage]:
    got: list[ServiceBusMessage] = []
    with client.get_queue_receiver(queue, **kwargs) as receiver:  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while len(got) < expected and time.monotonic() < deadline:
            for message in receiver.receive_messages(max_message_count=100, max_wait_time=2):
                got.append(message)
                receiver.complete_message(message)
    return got


def test_kill_9_keeps_messages_state_and_releases_locks(tmp_path: Path) -> None:
    with run_broker(tmp_path, CONFIG) as broker:
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            with client.get_queue_sender("work") as sender:
                sender.send_messages([ServiceBusMessage(f"w{i}") for i in range(50)])
                sender.schedule_messages(ServiceBusMessage("scheduled"),
                                         dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3))
            with client.get_queue_sender("flow") as sender:
                sender.send_messages([ServiceBusMessage(f"f{i}", session_id="s") for i in range(3)])
            with client.get_topic_sender("events") as sender:
                sender.send_messages(ServiceBusMessage("audited"))
            with client.get_queue_receiver("work") as receiver:
                locked = receiver.receive_messages(max_message_count=5, max_wait_time=5)
                assert locked
                dead = receiver.receive_messages(max_message_count=1, max_wait_time=5)
                receiver.dead_letter_message(dead[0], reason="Kept", error_description="across restart")
                with client.get_queue_receiver("flow", session_id="s") as session:
                    session.session.set_state(b"checkpoint")
                    assert session.receive_messages(max_wait_time=5)
                    broker.process.kill()  # SIGKILL while locks are held
        broker.restart()
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            work = receive_all(client, "work", 50)
            bodies = sorted(str(m) for m in work)
            assert bodies == sorted([f"w{i}" for i in range(50) if f"w{i}" != str(dead[0])] + ["scheduled"])
            redelivered = {str(m) for m in work if m.sequence_number in {x.sequence_number for x in locked}}
            assert redelivered == {str(m) for m in locked}
            with client.get_queue_receiver("work", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
                [kept] = dlq.receive_messages(max_wait_time=5)
                assert (str(kept), kept.dead_letter_reason) == (str(dead[0]), "Kept")
                dlq.complete_message(kept)
            with client.get_queue_receiver("flow", session_id="s") as session:
                assert session.session.get_state() == b"checkpoint"
            assert [str(m) for m in receive_all(client, "flow", 3, session_id="s")] == ["f0", "f1", "f2"]
            with client.get_subscription_receiver("events", "audit") as receiver:
                [audited] = receiver.receive_messages(max_wait_time=5)
                receiver.complete_message(audited)
            with client.get_queue_sender("work") as sender:
                sender.send_messages(ServiceBusMessage("after restart"))
            [after] = receive_all(client, "work", 1)
            assert after.sequence_number > max(m.sequence_number for m in work)


def test_every_acknowledged_send_survives_kill_9_mid_stream(tmp_path: Path) -> None:
    acknowledged: list[str] = []
    with run_broker(tmp_path, CONFIG) as broker:
        stop = threading.Event()

        def produce() -> None:
            with ServiceBusClient.from_connection_string(broker.connection_string, retry_total=0) as client, \
                    client.get_queue_sender("stream") as sender:
                for i in range(100000):
                    if stop.is_set():
                        return
                    try:
                        sender.send_messages(ServiceBusMessage(f"m{i}"))
                    except ServiceBusError:
                        return  # the broker died under us; this send was not acknowledged
                    acknowledged.append(f"m{i}")

        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        broker.process.kill()
        stop.set()
        producer.join(60)
        assert len(acknowledged) >= 200
        broker.restart()
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            stored = {str(m) for m in receive_all(client, "stream", len(acknowledged))}
        assert set(acknowledged) <= stored

